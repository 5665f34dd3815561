"""The text layer of every document: `pdftotext` gives the Thai that was written.

HarfBuzz draws sara am (ำ) as nikhahit + the sara-aa glyph, so without ActualText
(ita_portal.pdf._patch_text_layer) copying gave "กำร" for "การ" or "ประจาปี" for "ประจำปี"."""

import datetime

import pytest
from django.core.cache import cache

from assessments.documents import render_analysis
from plans import services
from plans.announcement import render_announcement
from plans.measures_plan import render_measures_plan
from plans.progress_report import render_progress
from tests.pdf_utils import pdftotext

WATER = "สำรวจการใช้น้ำและไฟฟ้าของสำนักงานทุกไตรมาส"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def plan(seed_assessment, owner, library):
    plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    first = plan.measures.order_by("order").first()
    first.steps = WATER + "\n" + first.steps
    first.save()
    return plan


@pytest.fixture
def signed(plan, owner, wg_member, mayor):
    services.plan_submit(plan=plan, user=owner)
    services.plan_approve(plan=plan, user=wg_member)
    services.plan_sign(plan=plan, user=mayor, signatory_name="นายสาธิต ระบบดี",
                       signatory_position="นายกองค์การบริหารส่วนตำบลพลสงคราม",
                       announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568",
                       meeting_date=datetime.date(2025, 9, 16))
    plan.refresh_from_db()
    return plan


def _assert_thai_is_intact(text):
    for wrong in ["กำร", "ประจาปี", "ดาเนิน", "ตาบล"]:
        assert wrong not in text
    for phrase in ["ประจำปีงบประมาณ", "ที่", "องค์การบริหารส่วนตำบลพลสงคราม"]:
        assert phrase in text


def test_it_extracts_the_analysis_report_as_written(seed_assessment, library):
    text = pdftotext(render_analysis(seed_assessment))
    _assert_thai_is_intact(text)
    for phrase in ["ดำเนินการ", "ความโปร่งใส", "๙๒.๒๗", "๘๘.๗๕", "ผลการประเมิน"]:
        assert phrase in text


def test_it_extracts_the_measures_plan_as_written(plan):
    text = pdftotext(render_measures_plan(plan))
    _assert_thai_is_intact(text)
    for phrase in ["ดำเนินการ", "ต่ำกว่า", "๙๒.๒๗", "น้ำ"]:
        assert phrase in text


def test_it_extracts_the_signed_announcement_as_written(signed):
    text = pdftotext(render_announcement(signed))
    _assert_thai_is_intact(text)
    for phrase in ["ดำเนินการ", "น้ำ", "๙๒.๒๗", "จึงประกาศให้ทราบโดยทั่วกัน", "นายสาธิต ระบบดี"]:
        assert phrase in text


def test_it_extracts_the_progress_report_as_written(signed, owner):
    measure = signed.measures.order_by("order").first()
    services.progress_record(measure=measure, quarter=1, user=owner, status="done",
                             note="ตรวจวัดปริมาณน้ำที่ใช้ต่ำกว่าเป้าหมาย")
    text = pdftotext(render_progress(signed))
    _assert_thai_is_intact(text)
    for phrase in ["ดำเนินการ", "ต่ำกว่า", "น้ำ"]:
        assert phrase in text


def test_it_keeps_word_spaces_in_the_text_layer(seed_assessment, library):
    text = pdftotext(render_analysis(seed_assessment))
    assert "ได้คะแนนรวม ๙๒.๒๗ คะแนน" in text


def test_it_marks_the_place_of_the_emblem_until_one_is_uploaded(plan):
    text = pdftotext(render_announcement(plan))
    assert "ยังไม่ได้อัปโหลด" in text
