"""A plan for every agency that has scores: indicator scores only, the overall score only
(เทศบาลตำบลคึกคัก FY2567, 85.42, seed 002's driving plan), some indicators missing; and
the triage that names the lowest published part (seed 000: OIT items at 50, EITSurvey)."""

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse

from assessments.models import Assessment, FiscalYear, compute_assessment
from plans.measures_plan import render_measures_plan
from plans.models import Band, Plan
from plans.services import plan_draft_from_assessment, uncovered_urgent_questions, urgent_items
from tests import pdf_utils
from tests.conftest import make_assessment


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def khuekkhak_staff(django_user_model, agency_b):
    from tests.conftest import member

    return member(django_user_model, "khuekkhak", agency_b, "staff")


@pytest.fixture
def overall_only(agency_b):
    """เทศบาลตำบลคึกคัก FY2567: only the overall score 85.42 is known (seed 002)."""
    return make_assessment(agency_b, 2567, {("overall", ""): "85.42"})


def test_it_drafts_one_library_measure_per_indicator_below_100_from_indicator_scores_only(agency_b, khuekkhak_staff, library):
    figures = {(str(n), ""): "80.00" for n in range(1, 9)}
    figures.update({("9", ""): "92.50", ("10", ""): "100.00"})
    assessment = make_assessment(agency_b, 2568, figures)
    plan, created = plan_draft_from_assessment(assessment=assessment, user=khuekkhak_staff)
    assert created and not plan.is_driving_plan and plan.unscored_indicators == []
    measures = list(plan.measures.select_related("indicator", "template"))
    below_100 = [m for m in measures if m.band != Band.MAINTAIN]
    assert sorted(int(m.indicator.code) for m in below_100) == list(range(1, 10))
    assert all(m.template is not None and m.template.key == f"ind-{m.indicator.code}" for m in below_100)
    assert {m.indicator.code: m.band for m in below_100}["1"] == Band.URGENT
    assert {m.indicator.code: m.band for m in below_100}["9"] == Band.IMPROVE
    assert [m.indicator.code for m in measures if m.band == Band.MAINTAIN] == ["10"]
    assert "มาตรการส่งเสริมคุณธรรม" in plan.title


def test_it_drafts_a_driving_plan_with_a_measure_for_every_indicator_when_only_the_overall_is_known(
    overall_only, khuekkhak_staff, library
):
    plan, created = plan_draft_from_assessment(assessment=overall_only, user=khuekkhak_staff)
    assert created
    plan.refresh_from_db()
    assert plan.target_year == 2568
    assert plan.unscored_indicators == [str(n) for n in range(1, 11)]
    assert plan.is_driving_plan
    assert plan.title.startswith("แผนการขับเคลื่อนการดำเนินงานการประเมินคุณธรรมและความโปร่งใส")
    measures = list(plan.measures.select_related("indicator", "template").order_by("order"))
    assert [m.indicator.code for m in measures] == [str(n) for n in range(1, 11)]
    assert all(m.band == Band.UNSCORED and m.score is None for m in measures)
    assert all(m.template.key == f"ind-{m.indicator.code}" for m in measures)
    first = measures[0]
    assert "ไม่มีคะแนนตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่ที่ประกาศสำหรับปีงบประมาณ พ.ศ. ๒๕๖๗" in first.weakness
    assert "{" not in first.analysis and "ได้ - คะแนน" not in first.analysis
    assert first.steps and first.monitoring and first.all_units


def test_it_covers_only_the_missing_indicators_with_driving_measures_when_some_are_scored(agency_b, khuekkhak_staff, library):
    figures = {(str(n), ""): "95.00" for n in range(1, 9)}
    figures[("overall", "")] = "90.00"
    assessment = make_assessment(agency_b, 2568, figures)
    plan, _ = plan_draft_from_assessment(assessment=assessment, user=khuekkhak_staff)
    assert plan.unscored_indicators == ["9", "10"]
    assert plan.unscored_indicators_display == "ตัวชี้วัดที่ 9 และ 10"
    bands = {m.indicator.code: m.band for m in plan.measures.select_related("indicator")}
    assert bands["9"] == bands["10"] == Band.UNSCORED
    assert {bands[str(n)] for n in range(1, 9)} == {Band.IMPROVE}


def test_it_refuses_a_draft_from_an_assessment_without_any_score_in_thai(agency_b, khuekkhak_staff, library):
    from django.core.exceptions import ValidationError

    assessment = Assessment.objects.create(agency=agency_b, fiscal_year=FiscalYear.objects.get(year=2567))
    with pytest.raises(ValidationError) as error:
        plan_draft_from_assessment(assessment=assessment, user=khuekkhak_staff)
    assert "ยังไม่มีคะแนนใดเลย" in error.value.messages[0]
    assert Plan.objects.count() == 0


def test_it_drafts_the_driving_plan_from_the_command(overall_only, library, capsys):
    call_command("draft_plan", "B001", "2567")
    out = capsys.readouterr().out
    assert "แผนขับเคลื่อน" in out
    assert Plan.objects.get(agency__code="B001").measures.count() == 10


def test_it_does_not_tell_the_user_to_run_draft_plan_when_a_draft_is_impossible(agency_b, tmp_path):
    Assessment.objects.create(agency=agency_b, fiscal_year=FiscalYear.objects.get(year=2567))
    with pytest.raises(CommandError) as error:
        call_command("render_document", "plan", "B001", "2567", "--output", str(tmp_path / "x.pdf"))
    assert "draft_plan" not in str(error.value)
    assert "ยังไม่มีคะแนนใดเลย" in str(error.value)


def test_it_suggests_draft_plan_only_when_the_draft_would_succeed(overall_only, tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("render_document", "plan", "B001", "2567", "--output", str(tmp_path / "x.pdf"))
    assert "draft_plan B001 2567" in str(error.value)


def test_it_says_on_the_plan_page_which_indicators_had_no_score(client, overall_only, khuekkhak_staff, library):
    plan, _ = plan_draft_from_assessment(assessment=overall_only, user=khuekkhak_staff)
    client.force_login(khuekkhak_staff)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    assert "แผนขับเคลื่อน: ผลการประเมินที่ประกาศไม่มีคะแนนของตัวชี้วัดที่ 1, 2, 3, 4, 5, 6, 7, 8, 9 และ 10" in html


def test_it_says_in_the_measures_plan_pdf_which_indicators_had_no_score(overall_only, khuekkhak_staff, library):
    plan, _ = plan_draft_from_assessment(assessment=overall_only, user=khuekkhak_staff)
    text = pdf_utils.pdftotext(render_measures_plan(plan))
    flat = " ".join(text.split())
    assert "แผนนี้เป็นแผนขับเคลื่อน" in flat
    assert "ตัวชี้วัดที่ ๑, ๒, ๓, ๔, ๕, ๖, ๗, ๘, ๙ และ ๑๐" in flat
    assert "๘๕.๔๒" in flat
    assert "ทุกตัวชี้วัดได้คะแนนเต็ม" not in flat


def test_it_keeps_the_unscored_indicators_on_a_revision(overall_only, khuekkhak_staff, library):
    plan, _ = plan_draft_from_assessment(assessment=overall_only, user=khuekkhak_staff)
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.SIGNED)
    plan.refresh_from_db()
    from plans.services import plan_revise

    new = plan_revise(plan=plan, user=khuekkhak_staff)
    assert new.unscored_indicators == plan.unscored_indicators


# Triage by the lowest published part (seed 000, อบต.พลสงคราม FY2568).

OIT_AT_50 = ["O1", "O6", "O12", "O22", "O27"]
EIT_SURVEY_BELOW_85 = {"e3": "79.09", "e4": "79.09", "e5": "84.55", "e9": "76.36"}


def test_it_lists_urgent_items_by_their_lowest_published_part(seed_assessment):
    items = {i.node.code: i for i in urgent_items(compute_assessment(seed_assessment))}
    for code in OIT_AT_50:
        assert items[code].part_label == "รายการ" and str(items[code].part_value) == "50.00"
    for code, value in EIT_SURVEY_BELOW_85.items():
        assert items[code].part_label == "EITSurvey" and str(items[code].part_value) == value
    assert items["9.3"].part_label == "ตัวชี้วัดย่อย"
    # e1 (EITSurvey 86.36) and the IIT questions are not urgent.
    assert "e1" not in items and not any(code.startswith("i") for code in items)


def test_it_names_the_part_below_85_in_the_uncovered_questions_of_the_plan_page(client, seed_assessment, owner, library):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    plan.measures.filter(questions__code="e3").delete()
    assert [q.node.code for q in uncovered_urgent_questions(plan)] == ["e3"]
    client.force_login(owner)
    html = client.get(reverse("plans:detail", args=[plan.pk])).content.decode()
    section = html.split("ข้อคำถามที่ต่ำกว่า ๘๕ และยังไม่มีมาตรการ")[1].split("</section>")[0]
    assert "EITSurvey 79.09 (เฉลี่ยทั้งข้อ 89.55)" in section


def test_it_prints_the_urgent_items_with_their_part_in_the_triage_section(seed_assessment, owner, library):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    text = pdf_utils.pdftotext(render_measures_plan(plan), layout=True)
    triage = text.split("ผลการวิเคราะห์ตัวชี้วัดจำแนกตามระดับคะแนน")[1].split("มาตรการ โครงการ หรือกิจกรรม ประจำปี")[0]
    urgent = triage.split("ประเด็นที่ต้องพัฒนาให้ดีขึ้น")[0]
    lines = [" ".join(line.split()) for line in urgent.splitlines()]
    for code in OIT_AT_50:
        digits = code.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
        assert any(line.startswith(f"{digits} ") and line.endswith("รายการ ๕๐.๐๐") for line in lines), code
    for code, value in EIT_SURVEY_BELOW_85.items():
        digits = code.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
        thai_value = value.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
        assert any(line.startswith(f"{digits} ") and line.endswith(f"EITSurvey {thai_value}") for line in lines), code
    assert "ไม่มี" not in " ".join(lines).replace("ไม่มีคะแนน", "")
    # e1 (EITSurvey 86.36) is not urgent: it must not appear with a score of 88–92 as if it were.
    assert not any(line.startswith("e๑ ") for line in lines)


def test_it_renders_the_draft_announcement_and_progress_report_of_a_driving_plan(overall_only, khuekkhak_staff, library):
    from plans.documents import render_plan_document

    plan, _ = plan_draft_from_assessment(assessment=overall_only, user=khuekkhak_staff)
    announcement = pdf_utils.pdftotext(render_plan_document(plan, "announcement"))
    assert "เทศบาลตำบลคึกคัก" in announcement
    progress = pdf_utils.pdftotext(render_plan_document(plan, "progress"))
    assert "เทศบาลตำบลคึกคัก" in progress
