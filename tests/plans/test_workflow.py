"""The plan's life through the portal's HTTP views: draft, submit, review, sign, revise, progress."""

import pytest
from django.urls import reverse

from plans.models import Plan, Progress, ReviewComment, Transition
from tests.conftest import SIGN_DATA


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def plan(client, seed_assessment, owner, library):
    login(client, owner)
    response = client.post(reverse("plans:draft", args=[seed_assessment.pk]))
    plan = Plan.objects.get()
    assert response.status_code == 302 and response.url == reverse("plans:detail", args=[plan.pk])
    client.logout()
    return plan


def post(client, user, name, plan, data=None, **kwargs):
    login(client, user)
    return client.post(reverse(name, args=[plan.pk, *kwargs.values()]), data or {})


def transition(client, user, plan, action, comment=""):
    login(client, user)
    return client.post(reverse("plans:transition", args=[plan.pk, action]), {"comment": comment})


def sign(client, mayor, plan, **overrides):
    login(client, mayor)
    return client.post(reverse("plans:sign", args=[plan.pk]), {**SIGN_DATA, **overrides})


def status(plan):
    plan.refresh_from_db()
    return plan.status


def test_it_runs_the_whole_workflow_and_records_every_transition(client, plan, owner, wg_member, mayor):
    assert transition(client, owner, plan, "submit").status_code == 302
    measure = plan.measures.first()
    login(client, wg_member)
    client.post(reverse("plans:comment", args=[plan.pk]), {"body": "ขอรายละเอียดเพิ่ม", "measure": measure.pk})
    transition(client, wg_member, plan, "request_changes", "ปรับขั้นตอนให้ชัดเจน")
    assert status(plan) == Plan.Status.CHANGES_REQUESTED
    transition(client, owner, plan, "submit")
    transition(client, wg_member, plan, "approve", "เห็นชอบ")
    assert status(plan) == Plan.Status.APPROVED
    assert sign(client, mayor, plan).status_code == 302
    assert status(plan) == Plan.Status.SIGNED
    plan.refresh_from_db()
    assert (plan.signatory_name, plan.signatory_position, plan.meeting_number) == (
        "นายสาธิต ระบบดี", "นายกองค์การบริหารส่วนตำบลพลสงคราม", "1/2568")
    assert plan.signed_by == mayor and plan.announced_on.isoformat() == "2025-10-02"
    steps = list(Transition.objects.filter(plan=plan).values_list("to_status", "actor__username", "comment"))
    assert steps == [
        ("draft", "owner", "จัดทำร่างแผน"),
        ("submitted", "owner", ""),
        ("changes_requested", "member", "ปรับขั้นตอนให้ชัดเจน"),
        ("submitted", "owner", ""),
        ("approved", "member", "เห็นชอบ"),
        ("signed", "mayor", ""),
    ]
    assert ReviewComment.objects.get().measure == measure


def test_it_shows_the_review_page_with_triage_and_measures(client, plan, wg_member):
    login(client, wg_member)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert "สรุปผลการจัดกลุ่มตัวชี้วัด" in html
    assert html.index("ตัวชี้วัดที่ 2 การใช้งบประมาณ") < html.index("ตัวชี้วัดที่ 10 การป้องกันการทุจริต")
    assert "ทุกข้อคำถามที่ต่ำกว่า ๘๕ มีมาตรการรองรับแล้ว" in html


def test_it_lists_urgent_items_that_lost_their_measure(client, plan, wg_member):
    plan.measures.filter(questions__code="O12").delete()
    login(client, wg_member)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert "<strong>O12</strong>" in html


def test_it_refuses_staff_approving(client, plan, owner):
    transition(client, owner, plan, "submit")
    response = transition(client, owner, plan, "approve")
    assert response.status_code == 403
    assert "เห็นชอบแผนได้เฉพาะคณะทำงาน" in response.content.decode()
    assert status(plan) == Plan.Status.SUBMITTED


def test_it_refuses_the_working_group_signing(client, plan, owner, wg_member):
    transition(client, owner, plan, "submit")
    transition(client, wg_member, plan, "approve")
    response = sign(client, wg_member, plan)
    assert response.status_code == 403
    assert status(plan) == Plan.Status.APPROVED


def test_it_refuses_signing_an_unapproved_plan(client, plan, owner, mayor):
    transition(client, owner, plan, "submit")
    response = sign(client, mayor, plan)
    assert response.status_code == 200
    assert "ลงนามประกาศไม่ได้ เพราะแผนอยู่ในสถานะ “เสนอคณะทำงานพิจารณา”" in response.content.decode()
    assert status(plan) == Plan.Status.SUBMITTED


def test_it_refuses_approving_a_draft(client, plan, wg_member):
    transition(client, wg_member, plan, "approve")
    assert status(plan) == Plan.Status.DRAFT


def test_it_names_the_missing_field_when_signing(client, plan, owner, wg_member, mayor):
    transition(client, owner, plan, "submit")
    transition(client, wg_member, plan, "approve")
    response = sign(client, mayor, plan, meeting_number="")
    assert "การประชุมคณะทำงาน ครั้งที่" in response.content.decode()
    assert status(plan) == Plan.Status.APPROVED


@pytest.fixture
def signed(client, plan, owner, wg_member, mayor):
    transition(client, owner, plan, "submit")
    transition(client, wg_member, plan, "approve")
    sign(client, mayor, plan)
    assert status(plan) == Plan.Status.SIGNED
    return plan


def test_it_refuses_editing_a_signed_plan_in_the_admin(client, signed, owner):
    login(client, owner)
    url = reverse("admin:plans_plan_change", args=[signed.pk])
    response = client.post(url, {"title": "แก้หลังลงนาม", "background": ""})
    signed.refresh_from_db()
    assert response.status_code == 403
    assert signed.title != "แก้หลังลงนาม"


def test_it_revises_a_signed_plan_into_a_new_draft_and_keeps_the_signed_one(client, signed, owner):
    count = signed.measures.count()
    login(client, owner)
    response = client.post(reverse("plans:revise", args=[signed.pk]))
    new = Plan.objects.get(previous=signed)
    assert response.url == reverse("plans:detail", args=[new.pk])
    assert (new.revision, new.status, new.measures.count()) == (2, Plan.Status.DRAFT, count)
    assert status(signed) == Plan.Status.SIGNED and signed.measures.count() == count


def test_it_records_progress_and_computes_the_percentage(client, signed, owner):
    measures = list(signed.measures.all()[:2])
    login(client, owner)
    url = reverse("plans:progress", args=[signed.pk])
    client.post(url, {"measure": measures[0].pk, "quarter": 1, "status": "done", "note": "จัดทำคู่มือแล้ว",
                      "evidence_url": "https://example.org/manual.pdf"})
    client.post(url, {"measure": measures[1].pk, "quarter": 2, "status": "cancelled", "note": "รวมกับมาตรการอื่น"})
    progress = Progress.objects.get(measure=measures[0], quarter=1)
    assert (progress.status, progress.note, progress.updated_by) == ("done", "จัดทำคู่มือแล้ว", owner)
    total = signed.measures.count()
    expected = round(100 * 1 / (total - 1))
    html = client.get(url).content.decode()
    assert f"ดำเนินการแล้วเสร็จ {expected}%" in html


def test_it_refuses_progress_with_a_bad_link_naming_the_field(client, signed, owner):
    login(client, owner)
    measure = signed.measures.first()
    response = client.post(reverse("plans:progress", args=[signed.pk]),
                           {"measure": measure.pk, "quarter": 1, "status": "done", "evidence_url": "not a url"}, follow=True)
    assert "ลิงก์หลักฐาน" in response.content.decode()
    assert not Progress.objects.exists()


def test_it_refuses_progress_from_the_working_group(client, signed, wg_member):
    login(client, wg_member)
    measure = signed.measures.first()
    response = client.post(reverse("plans:progress", args=[signed.pk]), {"measure": measure.pk, "quarter": 1, "status": "done"})
    assert response.status_code == 403
    assert not Progress.objects.exists()


def test_it_refuses_get_on_post_only_views(client, plan, owner):
    login(client, owner)
    for url in [reverse("plans:transition", args=[plan.pk, "submit"]), reverse("plans:revise", args=[plan.pk]),
                reverse("plans:comment", args=[plan.pk]), reverse("plans:draft", args=[plan.assessment_id])]:
        assert client.get(url).status_code == 405


def test_it_sends_anonymous_users_to_login(client, plan):
    response = client.get(reverse("plans:detail", args=[plan.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_it_links_the_documents_from_the_plan_page(client, plan, wg_member):
    login(client, wg_member)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    for kind in ("plan", "announcement"):
        url = reverse("plans:document", args=[plan.pk, kind])
        assert f'href="{url}"' in html
    assert "ร่างประกาศ (PDF)" in html
    response = client.get(reverse("plans:document", args=[plan.pk, "announcement"]))
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
