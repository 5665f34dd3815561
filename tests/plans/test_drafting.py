"""Drafting the FY2569 plan from seed 000's FY2568 triage."""

import pytest
from django.core.management import call_command

from plans.models import Band, Plan
from plans.services import plan_draft_from_assessment, uncovered_urgent_questions


@pytest.fixture
def plan(seed_assessment, owner, library):
    plan, created = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    assert created
    return plan


def test_it_targets_the_next_fiscal_year(plan):
    assert plan.target_year == 2569
    assert plan.status == Plan.Status.DRAFT


def test_it_gives_every_indicator_below_100_an_improvement_measure(plan):
    indicator_measures = {
        m.indicator.code: m.band for m in plan.measures.select_related("indicator") if m.template is None or not m.template.question_code
    }
    for code in ["1", "4", "5", "6", "7", "8", "9", "10"]:
        assert indicator_measures[code] == Band.IMPROVE
    assert indicator_measures["2"] == Band.MAINTAIN
    assert indicator_measures["3"] == Band.MAINTAIN


def test_it_covers_every_urgent_question(plan):
    covered = {q.code for m in plan.measures.all() for q in m.questions.all()}
    # OIT items at 50.00 and EIT parts below 85 (seed 000).
    assert {"O1", "O6", "O12", "O22", "O27", "e3", "e4", "e5", "e9"} <= covered
    assert uncovered_urgent_questions(plan) == []


def test_it_prefills_measures_from_the_library_with_the_agencys_own_figures(plan):
    measure = plan.measures.get(indicator__code="4", template__question_code="")
    assert measure.title and measure.steps and measure.monitoring
    assert measure.quarters
    assert "{" not in measure.analysis
    assert "องค์การบริหารส่วนตำบลพลสงคราม" in measure.analysis or not measure.template.analysis
    assert measure.deadline.isoformat() == "2026-09-30"


def test_it_marks_maintain_measures_for_indicators_at_100(plan):
    maintain = plan.measures.filter(band=Band.MAINTAIN).values_list("indicator__code", flat=True)
    assert sorted(maintain) == ["2", "3"]


def test_it_does_not_duplicate_a_second_draft(plan, seed_assessment, owner):
    count = plan.measures.count()
    again, created = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    assert (again.pk, created) == (plan.pk, False)
    assert Plan.objects.count() == 1
    assert again.measures.count() == count


def test_it_drafts_from_the_command_exactly_once(seed_assessment, library, capsys):
    call_command("draft_plan", "A001", "2568")
    call_command("draft_plan", "A001", "2568")
    assert Plan.objects.filter(agency__code="A001", target_year=2569).count() == 1
    assert "ไม่สร้างซ้ำ" in capsys.readouterr().out


def test_it_refuses_a_draft_by_someone_who_is_not_staff(seed_assessment, wg_member, library):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        plan_draft_from_assessment(assessment=seed_assessment, user=wg_member)
    assert Plan.objects.count() == 0
