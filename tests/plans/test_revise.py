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
