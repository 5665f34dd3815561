"""Before the irreversible steps: a checklist and a confirmation; approving with urgent
questions uncovered needs a reason, kept in the log. The review page keeps its place."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from plans.models import Plan, Transition
from plans.services import (
    plan_approve,
    plan_checklist,
    plan_draft_from_assessment,
    plan_request_changes,
    plan_submit,
)


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


def uncover(plan, code="O12"):
    measure = plan.measures.filter(questions__code=code).first()
    measure.questions.remove(*measure.questions.filter(code=code))


def test_it_lists_what_to_check_before_submitting(client, settings, plan, owner):
    settings.PUBLIC_BASE_URL = "https://ita.example.go.th"
    uncover(plan)
    measure = plan.measures.order_by("order").first()
    measure.quarters = ""
    measure.save()
    measure.units.clear()
    plan.measures.filter(pk=measure.pk).update(all_units=False, owner="")
    checks = dict((text.split(" ")[0], ok) for ok, text in plan_checklist(plan))
    assert list(checks.values()).count(False) == 4  # uncovered, owner, period, emblem
    client.force_login(owner)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert "ตรวจสอบก่อนเสนอแผน" in html
    assert "ข้อคำถามที่ต่ำกว่า ๘๕ ยังไม่มีมาตรการ 1 ข้อ: O12" in html
    assert f"มาตรการที่ยังไม่มีผู้รับผิดชอบ 1 รายการ: ลำดับที่ {measure.order}" in html
    assert f"มาตรการที่ยังไม่ระบุระยะเวลา 1 รายการ: ลำดับที่ {measure.order}" in html
    assert "ยังไม่ได้อัปโหลดตราสัญลักษณ์ (ครุฑ)" in html
    assert 'data-confirm="เสนอแผนนี้ต่อคณะทำงานพิจารณา?' in html


def test_it_warns_when_public_base_url_is_localhost_in_production(settings, plan):
    settings.DEBUG = False
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert any("PUBLIC_BASE_URL" in text and not ok for ok, text in plan_checklist(plan))
    settings.PUBLIC_BASE_URL = "https://ita.example.go.th"
    assert not any("PUBLIC_BASE_URL" in text for ok, text in plan_checklist(plan))


def test_it_needs_a_reason_to_approve_with_urgent_questions_uncovered(client, plan, owner, wg_member):
    uncover(plan)
    plan_submit(plan=plan, user=owner)
    with pytest.raises(ValidationError) as refused:
        plan_approve(plan=plan, user=wg_member, comment="  ")
    assert "ข้อคำถามที่ต่ำกว่า ๘๕ ไม่มีมาตรการ 1 ข้อ (O12)" in refused.value.messages[0]
    client.force_login(wg_member)
    response = client.post(reverse("plans:transition", args=[plan.pk, "approve"]), {"comment": ""}, follow=True)
    assert "กรุณาระบุเหตุผลในช่องความเห็นประกอบ" in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.SUBMITTED
    client.post(reverse("plans:transition", args=[plan.pk, "approve"]), {"comment": "O12 จะดำเนินการในปีถัดไป"})
    step = Transition.objects.get(plan=plan, to_status="approved")
    assert step.comment == "O12 จะดำเนินการในปีถัดไป\n[เห็นชอบทั้งที่ข้อคำถามต่ำกว่า ๘๕ ยังไม่มีมาตรการ: O12]"


def test_it_approves_a_fully_covered_plan_without_a_reason(plan, owner, wg_member):
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


def test_it_returns_to_the_commented_measure_not_the_top(client, plan, owner, wg_member):
    plan_submit(plan=plan, user=owner)
    measure = plan.measures.order_by("order")[3]
    client.force_login(wg_member)
    response = client.post(reverse("plans:comment", args=[plan.pk]), {"body": "ขอรายละเอียด", "measure": measure.pk})
    assert response.url == reverse("plans:detail", args=[plan.pk]) + f"#measure-{measure.pk}"
    response = client.post(reverse("plans:comment", args=[plan.pk]), {"body": "ความเห็นทั้งฉบับ"})
    assert response.url.endswith("#general-comments")


def test_it_shows_the_send_back_reason_at_the_top_for_staff(client, plan, owner, wg_member):
    plan_submit(plan=plan, user=owner)
    plan_request_changes(plan=plan, user=wg_member, comment="ขอให้ระบุผู้รับผิดชอบของทุกมาตรการ")
    client.force_login(owner)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    box = html.index('id="sent-back"')
    assert box < html.index('id="measures"')
    assert "ขอให้ระบุผู้รับผิดชอบของทุกมาตรการ" in html[box:html.index("</section>", box)]
