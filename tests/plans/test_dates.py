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


def sign_form_data(**dates):
    data = {
        "signatory_name": "นายสาธิต ระบบดี", "signatory_position": "นายกองค์การบริหารส่วนตำบลพลสงคราม",
        "meeting_number": "1/2568", "confirm": "on",
        "announced_on_0": "2", "announced_on_1": "10", "announced_on_2": "2568",
        "meeting_date_0": "16", "meeting_date_1": "9", "meeting_date_2": "2568",
    }
    data.update(dates)
    return data


def test_it_shows_the_sign_dates_as_day_thai_month_and_be_year_selects(client, approved, mayor):
    client.force_login(mayor)
    html = client.get(reverse("plans:sign", args=[approved.pk])).content.decode()
    assert 'name="announced_on_1"' in html and '<option value="10">ตุลาคม</option>' in html
    assert '<option value="2568">2568</option>' in html and '<option value="2569">2569</option>' in html
    assert 'type="date"' not in html


def test_it_signs_with_a_be_date_and_stores_the_gregorian_date(client, approved, mayor):
    client.force_login(mayor)
    response = client.post(reverse("plans:sign", args=[approved.pk]), sign_form_data())
    assert response.status_code == 302
    approved.refresh_from_db()
    assert (approved.announced_on, approved.meeting_date) == (datetime.date(2025, 10, 2), datetime.date(2025, 9, 16))


def test_it_refuses_a_day_the_month_does_not_have_in_thai(client, approved, mayor):
    client.force_login(mayor)
    response = client.post(reverse("plans:sign", args=[approved.pk]), sign_form_data(announced_on_0="31", announced_on_1="9"))
    assert "ไม่มีวันที่ 31 กันยายน พ.ศ. 2568" in response.content.decode()
    assert Plan.objects.get(pk=approved.pk).status == Plan.Status.APPROVED


def test_it_refuses_a_forged_year_outside_the_window_naming_the_field(client, approved, mayor):
    client.force_login(mayor)
    response = client.post(reverse("plans:sign", args=[approved.pk]), sign_form_data(meeting_date_2="2563"))
    assert "วันที่ประชุมคณะทำงานต้องอยู่ระหว่าง 1 ตุลาคม พ.ศ. 2567 ถึง 30 กันยายน พ.ศ. 2569" in response.content.decode()
    assert Plan.objects.get(pk=approved.pk).status == Plan.Status.APPROVED


def test_it_refuses_an_incomplete_date_in_thai(client, approved, mayor):
    client.force_login(mayor)
    response = client.post(reverse("plans:sign", args=[approved.pk]), sign_form_data(announced_on_2=""))
    assert "กรุณาเลือกให้ครบทั้งวันที่ เดือน และปี พ.ศ." in response.content.decode()
    assert Plan.objects.get(pk=approved.pk).status == Plan.Status.APPROVED


def test_it_refuses_a_half_chosen_optional_date_without_crashing(client, plan, owner):
    from tests.plans.test_editor import edit_data

    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    response = client.post(reverse("plans:measure_update", args=[plan.pk, measure.pk]), edit_data(measure, deadline_1=""))
    assert response.status_code == 400
    assert "กำหนดแล้วเสร็จ: กรุณาเลือกให้ครบทั้งวันที่ เดือน และปี พ.ศ." in response.content.decode()
    response = client.post(reverse("plans:measure_update", args=[plan.pk, measure.pk]),
                           edit_data(measure, deadline_0="", deadline_1="", deadline_2=""))
    measure.refresh_from_db()
    assert response.status_code == 302 and measure.deadline is None


def test_it_shows_a_stored_deadline_in_the_buddhist_era(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    assert measure.deadline == datetime.date(2026, 9, 30)
    client.force_login(owner)
    html = client.get(reverse("plans:measure_edit", args=[plan.pk, measure.pk])).content.decode()
    year = html[html.index(f'name="m{measure.pk}-deadline_2"'):]
    year = year[:year.index("</select>")]
    assert '<option value="2569" selected>2569</option>' in year
    month = html[html.index(f'name="m{measure.pk}-deadline_1"'):]
    assert '<option value="9" selected>กันยายน</option>' in month[:month.index("</select>")]


def test_it_refuses_a_sign_date_more_than_a_year_before_today_but_not_an_old_deadline(plan):
    today = datetime.date(2026, 12, 6)
    problem = plan_date_problem(plan, datetime.date(2025, 10, 2), "วันที่ประกาศ", today=today, recent=True)
    assert problem.startswith("วันที่ประกาศต้องไม่ย้อนหลังเกินหนึ่งปีนับจากวันนี้") and "2 ตุลาคม พ.ศ. 2568" in problem
    assert plan_date_problem(plan, datetime.date(2025, 12, 10), "วันที่ประกาศ", today=today, recent=True) is None
    # A measure's deadline carried over by a revision stays editable.
    assert plan_date_problem(plan, datetime.date(2025, 9, 30), "กำหนดแล้วเสร็จ", today=today) is None


def test_it_refuses_a_sign_date_a_year_back_through_the_sign_page(client, approved, mayor, monkeypatch):
    monkeypatch.setattr("plans.services.portal_today", lambda: datetime.date(2026, 12, 6))
    client.force_login(mayor)
    response = client.post(reverse("plans:sign", args=[approved.pk]), sign_form_data())
    assert response.status_code == 200
    assert "วันที่ประกาศต้องไม่ย้อนหลังเกินหนึ่งปีนับจากวันนี้" in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == approved.Status.APPROVED
