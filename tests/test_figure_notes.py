"""A published figure that breaks the arithmetic is named alone, beside the figure, in every document."""

import pytest

from assessments.documents import analysis_context, render_analysis
from plans.announcement import announcement_context
from plans.measures_plan import measures_plan_context
from plans.services import plan_draft_from_assessment
from tests.conftest import make_assessment
from tests.pdf_utils import contains, pdf_text
from tests.seed_figures import SEED_000_INDICATORS


@pytest.fixture
def typo_assessment(agency_a):
    """Seed 000's indicators and overall; IIT printed 89.58 instead of 98.58."""
    figures = dict(SEED_000_INDICATORS)
    figures.update({("overall", ""): "92.27", ("IIT", ""): "89.58", ("EIT", ""): "93.15", ("OIT", ""): "86.88"})
    return make_assessment(agency_a, 2568, figures)


def test_it_notes_the_mistyped_tool_and_not_the_overall_in_the_analysis(typo_assessment, library):
    context = analysis_context(typo_assessment)
    assert list(context["figure_notes"]) == ["IIT"]
    assert context["overall_note"] is None
    text = pdf_text(render_analysis(typo_assessment))
    assert contains(text, "คะแนน IIT ที่ประกาศ ๘๙.๕๘ คะแนน ไม่สอดคล้องกับองค์ประกอบ ซึ่งคำนวณได้ ๙๘.๕๘ คะแนน")
    assert contains(text, "เกิดจากคะแนน IIT [๑]")
    assert "๘๙.๕๘ [๑]" in text or "๘๙.๕๘[๑]" in text


def test_it_marks_the_mistyped_tool_in_the_plan_and_the_announcement(typo_assessment, owner, library):
    plan, _ = plan_draft_from_assessment(assessment=typo_assessment, user=owner)
    context = measures_plan_context(plan)
    iit = next(t for t in context["tools"] if t["code"] == "IIT")
    assert iit["score"] == "๘๙.๕๘ [๑]"
    assert context["overall"] == "๙๒.๒๗"
    assert [n["label"] for n in context["figure_notes"]] == ["คะแนน IIT"]
    announcement = announcement_context(plan, signed=False)
    assert announcement["overall_score"] == "๙๒.๒๗"
    assert [n["label"] for n in announcement["figure_notes"]] == ["คะแนน IIT"]


def test_it_marks_indicator_9_of_seed_000_beside_its_score(seed_assessment, owner, library):
    context = analysis_context(seed_assessment)
    assert list(context["figure_notes"]) == ["9"]
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    plan_context = measures_plan_context(plan)
    nine = next(g for g in plan_context["groups"] if g["code"] == "9")
    assert nine["score"] == "คะแนนตัวชี้วัด ๘๘.๗๕ [๑]"
    rows = [r for g in announcement_context(plan, signed=False)["groups"] for r in g["rows"]]
    assert any(r["score"] == "คะแนนตัวชี้วัด ๘๘.๗๕ [๑]" for r in rows)
