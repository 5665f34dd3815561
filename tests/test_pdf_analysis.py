"""The analysis report, read back from the rendered PDF."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from assessments.documents import render_analysis
from assessments.models import AnalysisText
from tests.conftest import make_assessment
from tests.pdf_utils import contains, embedded_fonts, pdf_pages, pdf_text, weasyprint_warnings


@pytest.fixture
def pdf(seed_assessment, library):
    with weasyprint_warnings() as warnings:
        data = render_analysis(seed_assessment)
    assert not [w for w in warnings if "notdef" in w]
    return data


@pytest.fixture
def text(pdf):
    return pdf_text(pdf)


def test_it_prints_the_agency_year_overall_and_level_in_thai_digits(text):
    assert contains(text, "องค์การบริหารส่วนตำบลพลสงคราม")
    assert "๒๕๖๘" in text
    assert "๙๒.๒๗" in text
    assert contains(text, "ผ่านดี")
    assert "92.27" not in text


def test_it_prints_tool_scores_and_every_indicator(text):
    for figure in ["๙๘.๕๘", "๙๓.๑๕", "๘๖.๘๘", "๙๙.๓๕", "๘๘.๗๕", "๘๕.๐๐"]:
        assert figure in text
    for name in ["การปฏิบัติหน้าที่", "การใช้ทรัพย์สินของราชการ", "คุณภาพการดำเนินงาน", "การเปิดเผยข้อมูล",
                 "การป้องกันการทุจริต"]:
        assert contains(text, name)


def test_it_prints_eit_parts_side_by_side(text):
    assert "EITPublic" in text and "EITSurvey" in text
    assert "๗๙.๐๙" in text and "๙๙.๒๐" in text


def test_it_names_the_highest_and_lowest_indicator(text):
    assert contains(text, "ตัวชี้วัดที่ได้คะแนนสูงสุดคือการใช้งบประมาณ")
    assert contains(text, "ตัวชี้วัดที่ได้คะแนนต่ำสุดคือการป้องกันการทุจริต")


def test_it_lists_the_consistency_warning_in_the_annex(text):
    assert contains(text, "ภาคผนวก")
    assert contains(text, "คะแนนที่ประกาศ ๘๘.๗๕ คำนวณจากค่าเฉลี่ยตัวชี้วัดย่อยได้ ๙๐.๐๐")


def test_it_embeds_sarabun_and_has_a_sane_page_count(pdf):
    assert any("Sarabun" in name for name in embedded_fonts(pdf))
    assert 6 <= pdf_pages(pdf) <= 20


def test_it_draws_the_history_of_every_year_on_record(seed_assessment, library):
    make_assessment(seed_assessment.agency, 2567, {("overall", ""): "88.10"})
    text = pdf_text(render_analysis(seed_assessment))
    assert "๘๘.๑๐" in text and "๒๕๖๗" in text


def test_it_keeps_an_edited_analysis_paragraph(client, seed_assessment, owner, library):
    client.force_login(owner)
    url = reverse("assessments:analysis_edit", args=[seed_assessment.pk])
    page = client.get(url)
    data = {f"text_{s['figure'].node.code}": s["analysis"] for _, s in page.context["rows"]}
    data["text_4"] = "หน่วยงานจะจัดทำทะเบียนคุมการยืมทรัพย์สินให้ครบทุกกอง"
    assert client.post(url, data).status_code == 302
    assert AnalysisText.objects.get(assessment=seed_assessment, item__code="4").text.startswith("หน่วยงานจะจัดทำ")
    assert AnalysisText.objects.filter(assessment=seed_assessment).count() == 1
    assert contains(render_analysis(seed_assessment), "ทะเบียนคุมการยืมทรัพย์สินให้ครบทุกกอง")


def test_it_refuses_analysis_edits_from_the_working_group(client, seed_assessment, wg_member, library):
    client.force_login(wg_member)
    url = reverse("assessments:analysis_edit", args=[seed_assessment.pk])
    assert client.post(url, {"text_4": "แก้ไขโดยไม่มีสิทธิ์"}).status_code == 403
    assert not AnalysisText.objects.exists()


def test_it_hides_the_analysis_of_another_agency(client, seed_assessment, outsider, library):
    client.force_login(outsider)
    assert client.get(reverse("assessments:analysis_pdf", args=[seed_assessment.pk])).status_code == 404
    assert client.get(reverse("assessments:analysis_edit", args=[seed_assessment.pk])).status_code == 404


def test_it_renders_through_the_command(seed_assessment, library, tmp_path):
    out = tmp_path / "analysis.pdf"
    call_command("render_document", "analysis", "A001", "2568", "--output", str(out))
    assert out.read_bytes().startswith(b"%PDF")
    assert "๙๒.๒๗" in pdf_text(out.read_bytes())


def test_it_renders_an_assessment_that_has_only_an_overall_score(agency_b, library):
    assessment = make_assessment(agency_b, 2567, {("overall", ""): "85.42"})
    text = pdf_text(render_analysis(assessment))
    assert "๘๕.๔๒" in text
    assert contains(text, "ยังไม่มีคะแนนรายเครื่องมือในระบบ")
    assert contains(text, "ในระบบมีเฉพาะคะแนนรวมของปีนี้")
