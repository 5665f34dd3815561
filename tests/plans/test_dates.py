"""Dates on a plan cannot go wrong: a BE year typed as CE, a date far from today or outside
the plan's fiscal years is refused with a Thai message naming the field; nothing is saved."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from plans.models import Plan
from plans.services import (
    plan_approve,
    plan_date_problem,
    plan_draft_from_assessment,
    plan_sign,
    plan_submit,
)
from tests.test_concurrency import page_form

SIGN = {
    "signatory_name": "นายสาธิต ระบบดี",
    "signatory_position": "นายกองค์การบริหารส่วนตำบลพลสงคราม",
    "announced_on": datetime.date(2025, 10, 2),
    "meeting_number": "1/2568",
    "meeting_date": datetime.date(2025, 9, 16),
}


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


@pytest.fixture
def approved(plan, owner, wg_member):
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    plan.refresh_from_db()
    return plan


def test_it_refuses_a_be_year_typed_into_a_gregorian_date_when_signing(approved, mayor):
    with pytest.raises(ValidationError) as refused:
        plan_sign(plan=approved, user=mayor, **{**SIGN, "announced_on": datetime.date(3112, 12, 2)})
    message = refused.value.message_dict["announced_on"][0]
    assert message.startswith("วันที่ประกาศต้องไม่เกินหนึ่งปีนับจากวันนี้")
    assert "2 ธันวาคม พ.ศ. 3655" in message
    approved.refresh_from_db()
    assert approved.status == Plan.Status.APPROVED and approved.announced_on is None


def test_it_refuses_a_meeting_date_outside_the_plans_fiscal_years(approved, mayor):
    with pytest.raises(ValidationError) as refused:
        plan_sign(plan=approved, user=mayor, **{**SIGN, "meeting_date": datetime.date(2020, 9, 16)})
    message = refused.value.message_dict["meeting_date"][0]
    assert message.startswith("วันที่ประชุมคณะทำงานต้องอยู่ระหว่าง 1 ตุลาคม พ.ศ. 2567 ถึง 30 กันยายน พ.ศ. 2569")
    assert Plan.objects.get(pk=approved.pk).status == Plan.Status.APPROVED


def test_it_accepts_dates_within_the_window(approved, mayor):
    plan_sign(plan=approved, user=mayor, **SIGN)
    approved.refresh_from_db()
    assert (approved.status, approved.announced_on) == (Plan.Status.SIGNED, datetime.date(2025, 10, 2))


def test_it_refuses_any_date_more_than_a_year_after_today(plan):
    today = datetime.date(2025, 1, 10)
    assert plan_date_problem(plan, datetime.date(2026, 1, 10), "กำหนดแล้วเสร็จ", today=today) is None
    problem = plan_date_problem(plan, datetime.date(2026, 1, 12), "กำหนดแล้วเสร็จ", today=today)
    assert problem.startswith("กำหนดแล้วเสร็จต้องไม่เกินหนึ่งปีนับจากวันนี้")


def test_it_refuses_a_measure_deadline_out_of_range_in_the_admin(client, owner, plan):
    client.force_login(owner)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    data = page_form(client.get(url))
    first = plan.measures.order_by("order", "pk").first()
    before = first.deadline
    data["measures-0-deadline"] = ["3112-09-30"]
    data["measures-0-title"] = ["ไม่ควรถูกบันทึก"]
    response = client.post(url, data)
    assert response.status_code == 200
    assert "กำหนดแล้วเสร็จต้องไม่เกินหนึ่งปีนับจากวันนี้" in response.content.decode()
    first.refresh_from_db()
    assert (first.deadline, first.title != "ไม่ควรถูกบันทึก") == (before, True)
