"""The analysis paragraphs follow the figures: the pure rules (assessments.analysis_text) and the
rendered report read back with poppler's pdftotext."""

import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from assessments.analysis_text import (
    Item,
    Phrase,
    Standing,
    change_words,
    comparison_words,
    indicator_paragraph,
    missing_words,
    overall_paragraph,
)
from assessments.documents import analysis_context, render_analysis
from assessments.models import Agency, AnalysisPhrase, AnalysisText, FrameworkItem, phrases_for
from tests.conftest import make_assessment
from tests.pdf_utils import contains, pdf_pages, pdftotext

D = Decimal

I1 = Phrase(finding="ผู้มาติดต่อบางรายรอนานเกินระยะเวลาที่ประกาศ", advice="ประกาศระยะเวลาการให้บริการ")
I2 = Phrase(finding="มีความเสี่ยงเรื่องการเลือกปฏิบัติ", advice="ใช้ระบบบัตรคิว")
I3 = Phrase(finding="มีความเสี่ยงเรื่องการเรียกรับสินบน", advice="ประกาศนโยบายไม่รับสิ่งตอบแทน")
IND1 = Phrase(strength="เจ้าหน้าที่ปฏิบัติหน้าที่ได้ตามมาตรฐาน", advice="ทบทวนมาตรฐานการให้บริการ")


def indicator_1(i1, i2="100.00", i3="100.00", **kwargs):
    items = [
        Item("i1", "การให้บริการตามขั้นตอนและระยะเวลา", D(i1), I1),
        Item("i2", "การเลือกปฏิบัติ", D(i2), I2),
        Item("i3", "การเรียกรับสินบน", D(i3), I3),
    ]
    value = (D(i1) + D(i2) + D(i3)) / 3
    return indicator_paragraph(
        agency="อบต.ทดสอบ", label="ตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่", value=value, phrase=IND1, items=items, **kwargs
    )


def test_it_names_the_urgent_question_and_not_the_risks_of_questions_at_100():
    text = indicator_1("70.00")
    assert "ข้อที่ได้ต่ำกว่า ๘๕ คะแนนและต้องแก้ไขโดยเร่งด่วน ได้แก่ i๑ (๗๐.๐๐ คะแนน)" in text
    assert I1.finding in text and I1.advice in text
    assert I2.finding not in text and I3.finding not in text
    assert "เลือกปฏิบัติ" not in text and "สินบน" not in text
    assert "ข้อ i๒ และ i๓ ได้คะแนนเต็มแล้ว ควรรักษาระดับไว้" in text


def test_it_uses_a_questions_weakness_only_below_100():
    text = indicator_1("100.00", i2="92.00")
    assert I2.finding in text
    assert I1.finding not in text and I3.finding not in text
    assert "ข้อที่ยังไม่ได้คะแนนเต็ม ได้แก่ i๒ (๙๒.๐๐ คะแนน)" in text
    # a question at 99.995 shows as 100.00 and is a full score
    assert I2.finding not in indicator_1("100.00", i2="99.995")


def test_it_praises_an_indicator_whose_questions_are_all_100():
    text = indicator_1("100.00")
    assert "ได้คะแนนเต็ม" in text and "ทุกข้อคำถามได้คะแนนเต็ม" in text
    assert IND1.strength in text
    assert "จุดอ่อน" not in text and "เร่งด่วน" not in text and "ควรพัฒนา" not in text


def test_it_reads_the_triage_boundaries_on_the_two_decimal_figure():
    def words(value):
        return indicator_paragraph(agency="ก", label="ตัวชี้วัดที่ ๙", value=D(value))

    assert "ต่ำกว่าเกณฑ์ ๘๕ คะแนน จัดเป็นข้อบกพร่องหรือจุดอ่อนที่ต้องแก้ไขโดยเร่งด่วน" in words("84.99")
    assert "ผ่านเกณฑ์ ๘๕ คะแนน แต่ยังมีประเด็นที่ต้องพัฒนาให้ดีขึ้น" in words("85.00")
    assert "ผ่านเกณฑ์ ๘๕ คะแนน แต่ยังมีประเด็นที่ต้องพัฒนาให้ดีขึ้น" in words("84.995")  # shows as ๘๕.๐๐
    assert "อยู่ในระดับสูงและผ่านเกณฑ์" in words("95.00")


def test_it_writes_a_positive_paragraph_for_an_overall_of_99_78():
    text = overall_paragraph(agency="อบต.ทดสอบ", value=D("99.78"))
    assert "คะแนนรวมอยู่ในระดับสูง" in text
    for negative in ["ต่ำกว่า", "จุดอ่อน", "เร่งด่วน", "ต้องพัฒนา", "ยังไม่"]:
        assert negative not in text


def test_it_writes_a_positive_paragraph_for_an_indicator_of_99_78_without_question_scores():
    text = indicator_paragraph(agency="อบต.ทดสอบ", label="ตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่", value=D("99.78"), phrase=IND1)
    assert "๙๙.๗๘ คะแนน อยู่ในระดับสูงและผ่านเกณฑ์ ๘๕ คะแนน" in text
    assert "เพื่อรักษาระดับและยกระดับให้ได้คะแนนเต็ม หน่วยงานควรทบทวนมาตรฐานการให้บริการ" in text
    assert "ยังไม่มีคะแนนรายข้อคำถาม" in text
    assert "จุดอ่อน" not in text and "เร่งด่วน" not in text


def test_it_says_how_much_the_score_rose_or_fell_since_last_year_in_thai_digits():
    assert change_words(D("92.27"), D("88.10"), 2567) == "เพิ่มขึ้นจากปีงบประมาณ พ.ศ. ๒๕๖๗ (๘๘.๑๐ คะแนน) ๔.๑๗ คะแนน"
    assert change_words(D("85.00"), D("90.555"), 2566) == "ลดลงจากปีงบประมาณ พ.ศ. ๒๕๖๖ (๙๐.๕๖ คะแนน) ๕.๕๖ คะแนน"
    assert change_words(D("88.104"), D("88.10"), 2567) == "เท่ากับปีงบประมาณ พ.ศ. ๒๕๖๗ (๘๘.๑๐ คะแนน)"
    assert change_words(D("88.10"), None, None) == ""
    text = overall_paragraph(agency="ก", value=D("85.42"), standing=Standing(previous=D("87.57"), previous_year=2565))
    assert "คะแนนรวมลดลงจากปีงบประมาณ พ.ศ. ๒๕๖๕ (๘๗.๕๗ คะแนน) ๒.๑๕ คะแนน" in text


def test_it_compares_with_the_province_and_the_nation():
    standing = Standing(province=D("90.12"), province_name="นครราชสีมา", national=D("93.82"))
    assert comparison_words(D("92.27"), standing) == (
        "สูงกว่าค่าเฉลี่ยของหน่วยงานในจังหวัดนครราชสีมา (๙๐.๑๒ คะแนน) ๒.๑๕ คะแนน"
        " และต่ำกว่าค่าเฉลี่ยระดับประเทศ (๙๓.๘๒ คะแนน) ๑.๕๕ คะแนน"
    )
    assert comparison_words(D("93.82"), Standing(national=D("93.8249"))) == "เท่ากับค่าเฉลี่ยระดับประเทศ (๙๓.๘๒ คะแนน)"
    assert comparison_words(D("93.82"), Standing()) == ""


def test_it_puts_change_and_comparison_in_the_indicator_paragraph():
    standing = Standing(previous=D("97.00"), previous_year=2567, province=D("96.00"), province_name="พังงา")
    text = indicator_1("98.06", standing=standing)
    assert "โดยเพิ่มขึ้นจากปีงบประมาณ พ.ศ. ๒๕๖๗ (๙๗.๐๐ คะแนน) ๒.๓๕ คะแนน" in text
    assert "และสูงกว่าค่าเฉลี่ยของหน่วยงานในจังหวัดพังงา (๙๖.๐๐ คะแนน) ๓.๓๕ คะแนน" in text


def test_it_flags_an_eit_part_below_85_of_a_question_that_passes():
    item = Item("e3", "การเรียกรับสินบน", D("89.55"), Phrase(finding="ผู้รับบริการบางรายกังวล"),
                parts=(("EITPublic", D("100.00")), ("EITSurvey", D("79.09"))))
    text = indicator_paragraph(agency="ก", label="ตัวชี้วัดที่ ๖", value=D("95.56"), items=[item])
    assert "แม้ข้อ e๓ จะผ่านเกณฑ์ แต่คะแนนส่วน EITSurvey ได้ ๗๙.๐๙ คะแนน ต่ำกว่า ๘๕ คะแนน" in text
    assert "EITPublic" not in text


def test_it_counts_the_indicators_of_each_band_in_the_overall_paragraph():
    indicators = [Item("1", "การปฏิบัติหน้าที่", D("100")), Item("9", "การเปิดเผยข้อมูล", D("80.00")),
                  Item("10", "การป้องกันการทุจริต", D("90.00"))]
    text = overall_paragraph(agency="ก", value=D("86.00"), indicators=indicators)
    assert "คะแนนรวมผ่านเกณฑ์ ๘๕ คะแนน" in text
    assert "จากตัวชี้วัดที่มีคะแนน ๓ ตัวชี้วัด มีตัวชี้วัดที่ได้คะแนนเต็ม ๑ ตัวชี้วัด ผ่านเกณฑ์แต่ยังไม่เต็ม ๑ ตัวชี้วัด" in text
    assert "ต่ำกว่า ๘๕ คะแนนและต้องแก้ไขโดยเร่งด่วน ๑ ตัวชี้วัด (ตัวชี้วัดที่ ๙ การเปิดเผยข้อมูล)" in text


def test_it_says_what_is_missing():
    assert "มีเฉพาะคะแนนรวม" in missing_words(has_tools=False, has_indicators=False, has_questions=False)
    assert "ระดับเครื่องมือ" in missing_words(has_tools=True, has_indicators=False, has_questions=False)
    assert "ยังไม่มีคะแนนรายข้อคำถาม" in missing_words(has_tools=True, has_indicators=True, has_questions=False)
    assert missing_words(has_tools=True, has_indicators=True, has_questions=True) == ""


# --- the wording as data --------------------------------------------------------------------------


def test_it_loads_the_phrases_with_migrate_and_from_the_fixture(db):
    assert AnalysisPhrase.objects.filter(fiscal_year__isnull=True).count() == 10
    assert AnalysisPhrase.objects.filter(fiscal_year__year=2568, code__startswith="O").count() == 28
    call_command("loaddata", "fixtures/analysis_phrases.json", verbosity=0)
    assert AnalysisPhrase.objects.count() == 69


def test_it_prefers_the_years_own_phrase_over_the_one_for_every_year(fy2568):
    AnalysisPhrase.objects.create(key="2568-ind-1", fiscal_year=fy2568, code="1", strength="ข้อความเฉพาะปี ๒๕๖๘")
    assert phrases_for(fy2568)["1"].strength == "ข้อความเฉพาะปี ๒๕๖๘"
    assert phrases_for(fy2568)["2"].fiscal_year_id is None
    assert "i1" not in phrases_for(fy2568.__class__.objects.get(year=2567))


def test_it_lets_an_administrator_edit_the_phrases(admin_client):
    page = admin_client.get(reverse("admin:assessments_analysisphrase_changelist") + "?q=i10")
    assert page.status_code == 200
    assert "การขอยืมหรือขอใช้ทรัพย์สินของหน่วยงาน" in page.content.decode()


def test_it_prints_an_edited_phrase_in_the_next_report(seed_assessment):
    AnalysisPhrase.objects.filter(code="i10").update(finding="ทะเบียนยืมทรัพย์สินไม่ครบ")
    assert "ทะเบียนยืมทรัพย์สินไม่ครบ" in analysis_context(seed_assessment)["sections"][3]["analysis"]


# --- the rendered report ----------------------------------------------------------------------------


@pytest.fixture
def seed_text(seed_assessment):
    return pdftotext(render_analysis(seed_assessment))


def paragraph_of(text, start, end):
    """The flattened text between two headings of the report, page numbers ("- ๕ -") taken out."""
    flat = re.sub(r"\s+", "", re.sub(r"(?m)^\s*-\s*[๐-๙]+\s*-\s*$", "", text))
    return flat[flat.index(re.sub(r"\s+", "", start)):flat.index(re.sub(r"\s+", "", end))]


def test_it_names_i1_and_keeps_quiet_about_i2_and_i3_in_the_seed_report(seed_text):
    phrases = {p.code: p for p in AnalysisPhrase.objects.filter(code__in=["i1", "i2", "i3"])}
    section = paragraph_of(seed_text, "(๑) ตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่ ได้", "(๒) ตัวชี้วัดที่ ๒")
    assert contains(section, "ข้อที่ยังไม่ได้คะแนนเต็ม ได้แก่ i๑ (๙๘.๐๖ คะแนน)")
    assert contains(section, phrases["i1"].finding)
    assert not contains(section, phrases["i2"].finding)
    assert not contains(section, phrases["i3"].finding)
    assert contains(section, "ส่วนข้อ i๒ และ i๓ ได้คะแนนเต็มแล้ว ควรรักษาระดับไว้")


def test_it_names_the_urgent_oit_items_of_the_seed_report(seed_text):
    # A sentence may run on to the next page: read the text without the page numbers.
    text = re.sub(r"\f\s*-\s*[๐-๙]+\s*-?", "", seed_text)
    assert contains(text, "ตัวชี้วัดย่อยที่ต่ำกว่า ๘๕ คะแนน ได้แก่ ๙.๓ การจัดซื้อจัดจ้าง (๗๕.๐๐ คะแนน)")
    assert contains(text, "ต้องแก้ไขโดยเร่งด่วน ได้แก่ O๒๒ (๕๐.๐๐ คะแนน) และ O๒๗ (๕๐.๐๐ คะแนน)")
    # O21 scored 100: its weakness (No Gift Policy not announced) is never printed
    assert not contains(seed_text, AnalysisPhrase.objects.get(code="O21").finding)


def test_it_praises_the_indicators_of_the_seed_that_scored_100(seed_text):
    section = paragraph_of(seed_text, "(๒) ตัวชี้วัดที่ ๒ การใช้งบประมาณ", "(๔) ตัวชี้วัดที่ ๔")
    assert contains(section, "ทุกข้อคำถามได้คะแนนเต็ม")
    assert not contains(section, "จุดอ่อน") and not contains(section, "ยังไม่ได้คะแนนเต็ม")


def test_it_prints_the_change_since_last_year_and_the_province_and_national_averages(seed_assessment, agency_b):
    agency = seed_assessment.agency
    make_assessment(agency, 2567, {("overall", ""): "88.10", ("1", ""): "97.00"})
    neighbour = Agency.objects.create(code="A002", name="เทศบาลตำบลโนนสูง", province="นครราชสีมา")
    make_assessment(neighbour, 2568, {("overall", ""): "90.01", ("1", ""): "95.01"})
    make_assessment(agency_b, 2568, {("overall", ""): "88.00"})
    text = pdftotext(render_analysis(seed_assessment))
    assert contains(text, "คะแนนรวมเพิ่มขึ้นจากปีงบประมาณ พ.ศ. ๒๕๖๗ (๘๘.๑๐ คะแนน) ๔.๑๗ คะแนน")
    # overall: province (92.27 + 90.01) / 2 = 91.14; nation (92.27 + 90.01 + 88.00) / 3 = 90.09
    assert contains(text, "คะแนนรวมสูงกว่าค่าเฉลี่ยของหน่วยงานในจังหวัดนครราชสีมา (๙๑.๑๔ คะแนน) ๑.๑๓ คะแนน")
    assert contains(text, "สูงกว่าค่าเฉลี่ยระดับประเทศ (๙๐.๐๙ คะแนน) ๒.๑๘ คะแนน")
    # indicator 1: last year 97.00; province and nation (99.35 + 95.01) / 2 = 97.18
    section = paragraph_of(text, "(๑) ตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่ ได้", "(๒) ตัวชี้วัดที่ ๒")
    assert contains(section, "โดยเพิ่มขึ้นจากปีงบประมาณ พ.ศ. ๒๕๖๗ (๙๗.๐๐ คะแนน) ๒.๓๕ คะแนน")
    assert contains(section, "และสูงกว่าค่าเฉลี่ยของหน่วยงานในจังหวัดนครราชสีมา (๙๗.๑๘ คะแนน) ๒.๑๗ คะแนน")


def test_it_leaves_out_averages_that_rest_on_the_agency_alone(seed_text):
    assert not contains(seed_text, "ค่าเฉลี่ยของหน่วยงานในจังหวัด")
    assert not contains(seed_text, "ค่าเฉลี่ยระดับประเทศ")


def dash_cells(text):
    """Lines that are a lone "-" (an empty table cell); page numbers print as "- ๒ -"."""
    return [line for line in text.splitlines() if line.strip() in {"-", "–"}]


def test_it_prints_only_the_overall_section_for_an_overall_only_assessment(seed_assessment, agency_b):
    seed_pages = pdf_pages(render_analysis(seed_assessment))
    data = render_analysis(make_assessment(agency_b, 2567, {("overall", ""): "85.42"}))
    text = pdftotext(data)
    assert contains(text, "๑. ผลการประเมินในภาพรวม")
    assert contains(text, "ได้คะแนนรวม ๘๕.๔๒ คะแนน ระดับผลการประเมิน “ผ่านดี”")
    assert contains(text, "ในระบบมีเฉพาะคะแนนรวมของปีนี้ ยังไม่มีคะแนนรายเครื่องมือ รายตัวชี้วัด และรายข้อคำถาม")
    for absent in ["ผลการประเมินรายตัวชี้วัด", "ตัวชี้วัดเรียงจากคะแนนสูงไปต่ำ", "ข้อคำถาม/รายการ", "ผลการวิเคราะห์รายตัวชี้วัด",
                   "ได้ - คะแนน", "ผลการประเมินในภาพรวมย้อนหลัง"]:
        assert not contains(text, absent), absent
    assert "ได้ - คะแนน" not in text
    assert not dash_cells(text)
    assert pdf_pages(data) <= 3 < seed_pages


def test_it_prints_no_question_tables_for_an_assessment_with_indicator_scores_only(other_assessment):
    text = pdftotext(render_analysis(other_assessment))
    assert contains(text, "ผลการวิเคราะห์รายตัวชี้วัด")
    assert contains(text, "(๑๐) ตัวชี้วัดที่ ๑๐ การป้องกันการทุจริต ได้ ๘๐.๐๐ คะแนน")
    assert contains(text, "ยังไม่มีคะแนนรายข้อคำถามของตัวชี้วัดนี้")
    assert contains(text, "ในระบบยังไม่มีคะแนนรายข้อคำถามของปีนี้")
    assert not contains(text, "ข้อคำถาม/รายการ")
    assert not contains(text, "EITSurvey")
    assert "ได้ - คะแนน" not in text
    assert not dash_cells(text)


def test_it_prints_the_agencys_own_paragraph_instead_of_the_generated_one(seed_assessment):
    item = FrameworkItem.objects.get(fiscal_year=seed_assessment.fiscal_year, code="1")
    AnalysisText.objects.create(assessment=seed_assessment, item=item, text="หน่วยงานจะติดตามงานบริการที่ล่าช้าทุกเดือน")
    text = pdftotext(render_analysis(seed_assessment))
    section = paragraph_of(text, "(๑) ตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่ ได้", "(๒) ตัวชี้วัดที่ ๒")
    assert contains(section, "หน่วยงานจะติดตามงานบริการที่ล่าช้าทุกเดือน")
    assert not contains(section, AnalysisPhrase.objects.get(code="i1").finding)


def test_it_returns_to_the_generated_paragraph_when_the_edit_repeats_it(client, seed_assessment, owner):
    client.force_login(owner)
    url = reverse("assessments:analysis_edit", args=[seed_assessment.pk])
    sections = analysis_context(seed_assessment)["sections"]
    data = {f"text_{s['figure'].node.code}": s["generated"] for s in sections}
    data["text_1"] = "หน่วยงานจะติดตามงานบริการที่ล่าช้าทุกเดือน"
    assert client.post(url, data).status_code == 302
    assert list(AnalysisText.objects.values_list("item__code", flat=True)) == ["1"]
    data["text_1"] = sections[0]["generated"]
    assert client.post(url, data).status_code == 302
    assert not AnalysisText.objects.exists()


def test_it_works_from_sub_indicators_when_the_oit_items_are_missing():
    subs = [Item("10.1", "การดำเนินการเพื่อป้องกันการทุจริตในประเด็นสินบน", D("100.00"), Phrase(advice="ป้องกันสินบน")),
            Item("10.2", "การส่งเสริมคุณธรรมและความโปร่งใส", D("80.00"), Phrase(advice="เผยแพร่มาตรการให้ครบ"))]
    text = indicator_paragraph(agency="ก", label="ตัวชี้วัดที่ ๑๐", value=D("90.00"), subs=subs,
                               items=[Item("O21", "No Gift Policy", None)])
    assert "คะแนนรายตัวชี้วัดย่อย ได้แก่ ๑๐.๑ การดำเนินการเพื่อป้องกันการทุจริตในประเด็นสินบน (๑๐๐.๐๐ คะแนน)" in text
    assert "สำหรับตัวชี้วัดย่อยที่ ๑๐.๒ หน่วยงานควรเผยแพร่มาตรการให้ครบ" in text
    assert "ป้องกันสินบน" not in text
