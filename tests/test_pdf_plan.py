"""The measures plan PDF (แนวทางและมาตรการในการยกระดับผลการประเมิน ITA) of seed 000's FY2569 plan."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans.measures_plan import measures_plan_context, render_measures_plan
from plans.models import Band, Plan
from plans.services import plan_draft_from_assessment
from tests import pdf_utils


@pytest.fixture(autouse=True)
def _fresh_cache():
    # render_pdf caches by HTML: a cached PDF would hide WeasyPrint's warnings.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plan(seed_assessment, owner, library):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    return plan


@pytest.fixture
def pdf(plan):
    return render_measures_plan(plan)


@pytest.fixture
def text(pdf):
    return pdf_utils.pdf_text(pdf)


def test_it_names_the_agency_and_the_plan(plan, text):
    assert pdf_utils.contains(text, "องค์การบริหารส่วนตำบลพลสงคราม")
    assert pdf_utils.contains(text, plan.title)


def test_it_states_the_overall_score_and_level_in_thai_digits(text):
    assert pdf_utils.contains(text, "๙๒.๒๗")
    assert pdf_utils.contains(text, "ผ่านดี")
    assert "92.27" not in text


def test_it_generates_a_background_from_the_assessment_when_none_is_written(text):
    assert pdf_utils.contains(text, "ที่มาและความสำคัญ")
    assert pdf_utils.contains(text, "ประจำปีงบประมาณ พ.ศ. ๒๕๖๘")
    assert pdf_utils.contains(text, "ได้คะแนนรวม ๙๒.๒๗ คะแนน อยู่ในระดับ “ผ่านดี”")


def test_it_prints_the_background_written_by_the_agency(plan):
    plan.background = "ความเป็นมาที่คณะทำงานเขียนเอง\n\nย่อหน้าที่สอง"
    plan.save()
    text = pdf_utils.pdf_text(render_measures_plan(plan))
    assert pdf_utils.contains(text, "ความเป็นมาที่คณะทำงานเขียนเอง")
    assert pdf_utils.contains(text, "ย่อหน้าที่สอง")


def test_it_shows_the_three_tool_scores(text):
    for score in ["๙๘.๕๘", "๙๓.๑๕", "๘๖.๘๘"]:
        assert pdf_utils.contains(text, score)


def test_it_lists_every_indicator_under_its_band(text):
    for name in ["การปฏิบัติหน้าที่", "การใช้อำนาจ", "การเปิดเผยข้อมูล", "การป้องกันการทุจริต"]:
        assert pdf_utils.contains(text, name)
    for band in (Band.URGENT, Band.IMPROVE, Band.MAINTAIN):
        assert pdf_utils.contains(text, band.label)


def test_it_lists_urgent_items_under_the_urgent_band_though_no_indicator_is_below_85(plan):
    context = measures_plan_context(plan)
    urgent = next(group for group in context["triage"] if group["band"] == Band.URGENT)
    # Seed 000 has no indicator below 85, but OIT items at 50 and EITSurvey parts below 85.
    assert urgent["rows"] == []
    assert {"O๑", "e๓"} <= {item["code"] for item in urgent["items"]}
    text = pdf_utils.pdf_text(render_measures_plan(plan))
    assert not pdf_utils.contains(text, f"{Band.URGENT.label} (คะแนนต่ำกว่า ๘๕) ไม่มี")


def test_it_prints_every_measure_with_its_steps_and_deadline(plan, text):
    measure = plan.measures.get(indicator__code="4", template__question_code="")
    assert pdf_utils.contains(text, measure.title)
    assert pdf_utils.contains(text, measure.monitoring)
    assert pdf_utils.contains(text, "๓๐ กันยายน พ.ศ. ๒๕๖๙")
    assert pdf_utils.contains(text, "ไตรมาส ๑-๔ (ปีงบประมาณ พ.ศ. ๒๕๖๙)")
    for header in [
        "ประเด็นที่เป็นข้อบกพร่อง",
        "ผลการวิเคราะห์",
        "ขั้นตอนหรือวิธีการปฏิบัติ",
        "ระยะเวลา",
        "ผู้รับผิดชอบ",
        "กำหนดแล้วเสร็จ",
        "แนวทางการกำกับติดตาม",
    ]:
        assert pdf_utils.contains(text, header)


def test_it_names_the_linked_questions(text):
    assert "O๑๒" in text or "O12" in text


def test_it_switches_table_numbers_to_arabic_for_an_agency_that_asks(plan):
    plan.agency.table_digits = "arabic"
    plan.agency.save()
    text = pdf_utils.pdf_text(render_measures_plan(plan))
    assert "98.58" in text
    assert pdf_utils.contains(text, "30 กันยายน พ.ศ. 2569")
    # The body text keeps Thai digits.
    assert pdf_utils.contains(text, "ได้คะแนนรวม ๙๒.๒๗ คะแนน")


def test_it_embeds_sarabun_without_missing_glyphs(plan):
    with pdf_utils.weasyprint_warnings() as warnings:
        pdf = render_measures_plan(plan)
    assert any("Sarabun" in name for name in pdf_utils.embedded_fonts(pdf))
    assert not [w for w in warnings if ".notdef" in w]


def test_it_puts_the_measures_table_on_landscape_pages(pdf):
    import io

    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    assert 2 <= len(pages) <= 25
    first = pages[0].mediabox
    assert first.width < first.height
    last = pages[-1].mediabox
    assert last.width > last.height


def test_it_serves_the_pdf_to_the_owner(client, owner, plan):
    client.force_login(owner)
    response = client.get(reverse("plans:document", args=[plan.pk, "plan"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_it_hides_the_pdf_from_another_agency(client, outsider, plan):
    client.force_login(outsider)
    response = client.get(reverse("plans:document", args=[plan.pk, "plan"]))
    assert response.status_code == 404


def test_it_runs_no_query_inside_the_template(plan):
    from ita_portal.pdf import render_html

    context = measures_plan_context(plan)
    with CaptureQueriesContext(connection) as captured:
        render_html("reports/measures_plan.html", context)
    assert len(captured) == 0


def test_it_builds_the_context_in_a_fixed_number_of_queries(plan):
    def queries_for(p):
        p = Plan.objects.get(pk=p.pk)
        with CaptureQueriesContext(connection) as captured:
            context = measures_plan_context(p)
        return len(captured), sum(len(group["rows"]) for group in context["groups"])

    full, full_rows = queries_for(plan)
    keep = plan.measures.order_by("order").first()
    plan.measures.exclude(pk=keep.pk).delete()
    single, single_rows = queries_for(plan)
    assert full_rows > 1 and single_rows == 1
    assert full == single
