"""A revision keeps what the signed plan had: question and unit links, owners, deadlines and
progress, each measure pointing back at the one it was copied from."""

import datetime

import pytest
from django.urls import reverse

from plans.models import AgencyUnit, Measure, Plan, Progress
from plans.services import plan_progress_percent, plan_revise, progress_record, uncovered_urgent_questions
from tests.test_progress_report import sign_plan


@pytest.fixture
def signed(seed_assessment, owner, wg_member, mayor, library):
    return sign_plan(seed_assessment, owner, wg_member, mayor)


def links(plan):
    return {
        (m.title, m.order): (
            sorted(q.code for q in m.questions.all()), sorted(u.name for u in m.units.all()), m.all_units, m.owner, m.deadline
        )
        for m in plan.measures.prefetch_related("questions", "units")
    }


def test_it_keeps_question_and_unit_links_owners_and_deadlines(signed, owner):
    measure = signed.measures.order_by("order").first()
    unit, _ = AgencyUnit.objects.get_or_create(agency=signed.agency, name="กองคลัง")
    measure.units.add(unit)
    Measure.objects.filter(pk=measure.pk).update(
        deadline=datetime.date(2026, 3, 31), all_units=False, owner="ผู้อำนวยการกองคลัง")
    before = links(signed)
    assert any(qs for qs, *_ in before.values())
    new = plan_revise(plan=signed, user=owner)
    assert links(new) == before
    kept = links(new)[(measure.title, measure.order)]
    assert ("กองคลัง" in kept[1], kept[3], kept[4]) == (True, "ผู้อำนวยการกองคลัง", datetime.date(2026, 3, 31))


def test_it_leaves_no_urgent_question_uncovered_that_the_signed_plan_covered(signed, owner):
    new = plan_revise(plan=signed, user=owner)
    assert [q.node.code for q in uncovered_urgent_questions(new)] == [
        q.node.code for q in uncovered_urgent_questions(signed)
    ]


def test_it_carries_progress_over_to_the_copy_of_each_measure(signed, owner):
    measures = list(signed.measures.order_by("order")[:3])
    progress_record(measure=measures[0], quarter=1, user=owner, status="done", note="จัดทำคู่มือแล้ว",
                    evidence_url="https://example.org/a.pdf")
    progress_record(measure=measures[1], quarter=2, user=owner, status="in_progress", note="กำลังดำเนินการ")
    percent = plan_progress_percent(signed)
    assert percent > 0
    new = plan_revise(plan=signed, user=owner)
    copy = new.measures.get(copied_from=measures[0])
    record = Progress.objects.get(measure=copy, quarter=1)
    assert (record.status, record.note, record.evidence_url, record.updated_by) == (
        "done", "จัดทำคู่มือแล้ว", "https://example.org/a.pdf", owner)
    assert Progress.objects.get(measure=new.measures.get(copied_from=measures[1]), quarter=2).status == "in_progress"
    assert plan_progress_percent(new) == percent
    # The signed plan's own records stay where they were.
    assert Progress.objects.filter(measure__plan=signed).count() == 2


def test_it_points_every_copy_at_its_origin(signed, owner):
    new = plan_revise(plan=signed, user=owner)
    origins = sorted(new.measures.values_list("copied_from", flat=True))
    assert origins == sorted(signed.measures.values_list("pk", flat=True))


def test_it_revises_through_the_portal_keeping_the_links(client, signed, owner):
    before = links(signed)
    client.force_login(owner)
    response = client.post(reverse("plans:revise", args=[signed.pk]))
    new = Plan.objects.get(previous=signed)
    assert response.status_code == 302
    assert links(new) == before


def test_it_shows_what_changed_since_the_previous_revision(client, signed, owner):
    new = plan_revise(plan=signed, user=owner)
    measures = list(new.measures.order_by("order"))
    edited, removed = measures[0], measures[1]
    removed_title = removed.title
    Measure.objects.filter(pk=edited.pk).update(owner="ปลัดองค์การบริหารส่วนตำบล", quarters="2")
    removed.delete()
    client.force_login(owner)
    client.post(reverse("plans:measure_add", args=[new.pk]), {"indicator": "3"})
    added = new.measures.order_by("-order").first()
    html = client.get(reverse("plans:detail", args=[new.pk])).content.decode()
    assert "สิ่งที่เปลี่ยนจากฉบับแรก" in html
    section = html[html.index('id="changes"'):html.index("</section>", html.index('id="changes"'))]
    assert "มาตรการที่เพิ่ม (1)" in section and f'href="#measure-{added.pk}"' in section
    assert "มาตรการที่ลบ (1)" in section and removed_title[:40] in section
    assert "มาตรการที่แก้ไข (1)" in section and "ไตรมาสที่ดำเนินการ, ผู้รับผิดชอบหลัก" in section


def test_it_names_the_revision_the_same_way_in_the_portal_admin_and_file_names(client, signed, owner):
    new = plan_revise(plan=signed, user=owner)
    client.force_login(owner)
    assert "ฉบับปรับปรุงครั้งที่ 1" in client.get(reverse("plans:detail", args=[new.pk])).content.decode()
    assert "ฉบับปรับปรุงครั้งที่ 1" in client.get(reverse("admin:plans_plan_change", args=[new.pk])).content.decode()
    admin_list = client.get(reverse("admin:plans_plan_changelist")).content.decode()
    assert "ฉบับปรับปรุงครั้งที่ 1" in admin_list and "ฉบับแรก" in admin_list
    assert str(new).endswith("(ฉบับปรับปรุงครั้งที่ 1)")
    response = client.get(reverse("plans:document", args=[new.pk, "plan"]))
    assert response["Content-Disposition"].endswith('-2569-rev1.pdf"')
    response = client.get(reverse("plans:document", args=[signed.pk, "plan"]))
    assert response["Content-Disposition"].endswith('-2569.pdf"')


def test_it_marks_a_replaced_announcement_on_the_public_page(client, signed, owner, wg_member, mayor):
    from plans.services import plan_approve, plan_sign, plan_submit

    new = plan_revise(plan=signed, user=owner)
    html = client.get(reverse("plans:public_agency", args=[signed.agency.code])).content.decode()
    assert "ถูกแทนที่แล้ว" not in html
    plan_submit(plan=new, user=owner)
    plan_approve(plan=new, user=wg_member)
    plan_sign(plan=new, user=mayor, signatory_name="นายสาธิต ระบบดี", signatory_position="นายก",
              announced_on=datetime.date(2026, 1, 15), meeting_number="2/2569", meeting_date=datetime.date(2026, 1, 10))
    html = client.get(reverse("plans:public_agency", args=[signed.agency.code])).content.decode()
    assert html.count("ถูกแทนที่แล้ว") == 1
    assert "ถูกแทนที่แล้ว: ใช้ฉบับปรับปรุงครั้งที่ 1ซึ่งลงนามประกาศ ณ วันที่ ๑๕ มกราคม พ.ศ. ๒๕๖๙ แทน" in html
    assert html.index("(ฉบับปรับปรุงครั้งที่ 1)") < html.index("ถูกแทนที่แล้ว")  # newest first, then the replaced one
