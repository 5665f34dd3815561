"""Official form and honest labels of the four documents (issue 10, items 2 and 3).

Each document of seed 000 (อบต.พลสงคราม FY2568, plan with the library's 19 measures) is
rendered once for the module; the tests read the PDFs with poppler (`pdftotext`, its
`-bbox` word boxes), as a reader or a checker copying text would."""

import datetime
import re
import subprocess
import tempfile
import unicodedata
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template import engines
from django.test import override_settings

from assessments.documents import render_analysis
from ita_portal.pdf import FONT_DIR, html_to_pdf, keep_terms_together, render_pdf
from plans import services
from plans.announcement import TEMPLATE as ANNOUNCEMENT
from plans.announcement import announcement_context
from plans.measures_plan import render_measures_plan
from plans.progress_report import render_progress
from tests.conftest import make_assessment, member
from tests.pdf_utils import pdf_pages, pdftotext
from tests.seed_figures import SEED_000

pytestmark = pytest.mark.django_db

# Seed 000's plan took 19 pages before the form was reworked (18 of them landscape).
PLAN_PAGES_BEFORE = 19
# Of those 19 pages, the measures table took 16 (landscape, 40–60 % empty).
MEASURES_TABLE_PAGES_BEFORE = 16
# Sarabun's line box (ascent 1.068 + descent 0.232 em): pdftotext's word box is this tall.
SARABUN_BOX = 1.3


def _flat(text):
    """Text with every run of whitespace removed: a phrase in a table cell may wrap anywhere there is a space."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def _raw(pdf):
    """pdftotext -raw: text in the order it is drawn, so a table cell's lines stay together."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        out = subprocess.run(["pdftotext", "-raw", f.name, "-"], capture_output=True, check=True).stdout.decode()
    return unicodedata.normalize("NFC", out)


def _pages(pdf):
    return pdftotext(pdf).split("\f")


def _words(pdf):
    """(page number, text, height, yMin) of every word pdftotext finds."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        xml = subprocess.run(["pdftotext", "-bbox", f.name, "-"], capture_output=True, check=True).stdout.decode()
    words = []
    for number, page in enumerate(xml.split("<page ")[1:], start=1):
        for m in re.finditer(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">([^<]*)</word>', page):
            y_min, y_max = float(m.group(1)), float(m.group(2))
            words.append((number, unicodedata.normalize("NFC", m.group(3)), y_max - y_min, y_min))
    return words


def _page_fill(pdf):
    """For each page, how far down its text reaches, as a fraction of the page height."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        xml = subprocess.run(["pdftotext", "-bbox", f.name, "-"], capture_output=True, check=True).stdout.decode()
    fills = []
    for page in xml.split("<page ")[1:]:
        height = float(re.search(r'height="([\d.]+)"', page).group(1))
        bottoms = [float(y) for y in re.findall(r'yMax="([\d.]+)"', page)]
        fills.append(max(bottoms, default=0) / height)
    return fills


@pytest.fixture(scope="module")
def documents(django_db_setup, django_db_blocker, tmp_path_factory):
    """The four documents of seed 000, rendered once; the data is rolled back afterwards."""
    from django.core.management import call_command

    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(
        MEDIA_ROOT=media, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
    ), transaction.atomic():
        from assessments.models import Agency

        agency = Agency.objects.create(code="A001", name="องค์การบริหารส่วนตำบลพลสงคราม",
                                       agency_type=Agency.Type.SAO, district="โนนสูง", province="นครราชสีมา")
        assessment = make_assessment(agency, 2568, SEED_000)
        call_command("loaddata", "fixtures/measure_library.json", verbosity=0)
        users = get_user_model()
        owner = member(users, "owner", agency, "staff", is_staff=True)
        plan, _ = services.plan_draft_from_assessment(assessment=assessment, user=owner)
        plan.announced_on = datetime.date(2025, 10, 2)
        docs = {
            "measures": plan.measures.count(),
            "analysis": render_analysis(assessment),
            "plan": render_measures_plan(plan),
            "announcement": render_pdf(
                ANNOUNCEMENT,
                announcement_context(plan, signed=True, verify_url="https://ita.example.go.th/v/AbCdEf1234"),
            ),
            "progress": render_progress(plan),
        }
        transaction.set_rollback(True)
    return docs


# --- item 2: every printed figure says what it is -------------------------------------------


def test_it_labels_indicator_9_in_the_announcement_with_its_own_score_not_item_o1s(documents):
    text = _flat(_raw(documents["announcement"]))
    # Indicator 9 is 88.75 (published); O1, the item its measure is about, is 50.00.
    assert _flat("ตัวชี้วัดที่ ๙ การเปิดเผยข้อมูล คะแนนตัวชี้วัด ๘๘.๗๕") in text
    assert _flat("O๑ (คะแนนรายการ OIT ๕๐.๐๐)") in text
    assert _flat("ตัวชี้วัดที่ ๙ การเปิดเผยข้อมูล คะแนน ๕๐.๐๐") not in text
    assert _flat("คะแนนตัวชี้วัด ๕๐.๐๐") not in text


def test_it_leaves_the_portals_eit_means_out_of_the_signed_announcement(documents):
    text = _flat(_raw(documents["announcement"]))
    # e3 has only its two published parts; their mean (89.55) is the portal's estimate.
    assert _flat("e๓ (EITPublic ๑๐๐.๐๐, EITSurvey ๗๙.๐๙)") in text
    assert "๘๙.๕๕" not in text
    assert "ค่าเฉลี่ยที่ระบบคำนวณ" not in text


def test_it_marks_the_portals_eit_means_in_the_plan_with_a_footnote(documents):
    text = _flat(_raw(documents["plan"]))
    assert _flat("e๓ (EITPublic ๑๐๐.๐๐, EITSurvey ๗๙.๐๙, ค่าเฉลี่ยที่ระบบคำนวณ ๘๙.๕๕*)") in text
    assert _flat("* ค่าเฉลี่ยของ EITPublic และ EITSurvey ที่ระบบคำนวณ สำนักงาน ป.ป.ช. ไม่ได้เผยแพร่") in text


def test_it_labels_indicator_and_item_scores_in_the_plan(documents):
    text = _flat(_raw(documents["plan"]))
    assert _flat("ตัวชี้วัดที่ ๙ การเปิดเผยข้อมูล — คะแนนตัวชี้วัด ๘๘.๗๕") in text
    assert _flat("O๑ (คะแนนรายการ OIT ๕๐.๐๐)") in text
    assert _flat("คะแนนตัวชี้วัด ๕๐.๐๐") not in text


# --- item 3: official form -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["analysis", "plan", "announcement"])
def test_it_prints_question_and_item_codes_in_thai_digits(documents, name):
    text = pdftotext(documents[name])
    assert not re.search(r"\b[ieO][0-9]", text)
    assert re.search(r"\b[ieO][๐-๙]", text)


@pytest.mark.parametrize("name", ["analysis", "plan", "progress"])
def test_it_prints_no_arabic_digit(documents, name):
    assert not re.search("[0-9]", pdftotext(documents[name]))


def test_it_sets_the_announcement_body_in_16_pt(documents):
    words = _words(documents["announcement"])
    body = [h for page, word, h, _ in words if page == 1 and "ประกาศให้ทราบโดยทั่วกัน" in word]
    assert body and all(abs(h / SARABUN_BOX - 16) < 0.3 for h in body)


def test_it_sets_the_plans_background_in_16_pt(documents):
    words = _words(documents["plan"])
    body = [h for page, word, h, _ in words if page == 1 and "สำนักงานคณะกรรมการป้องกันและปราบปราม" in word]
    assert body and all(abs(h / SARABUN_BOX - 16) < 0.3 for h in body)


def test_it_fits_the_19_measure_plan_in_about_half_the_pages_it_took(documents):
    assert documents["measures"] == 19
    # The triage section now also lists every urgent question and OIT item by its lowest part
    # (a page more than before), so the measures table is what must have halved.
    pages = [_flat(p) for p in _pages(documents["plan"]) if p.strip()]
    first = next(i for i, p in enumerate(pages) if _flat("ขั้นตอนหรือวิธีการปฏิบัติ") in p)
    assert len(pages) - first <= MEASURES_TABLE_PAGES_BEFORE * 6 // 10
    assert pdf_pages(documents["plan"]) <= PLAN_PAGES_BEFORE * 2 // 3


def test_it_fills_the_measures_plan_pages(documents):
    # The old plan left landscape pages 40–60 % empty; every page but the last is now mostly full.
    fills = _page_fill(documents["plan"])
    assert all(fill >= 0.7 for fill in fills[:-1]), fills


def test_it_keeps_the_announcement_on_its_first_page_and_the_attachment_short(documents):
    pages = _pages(documents["announcement"])
    assert "จึงประกาศให้ทราบโดยทั่วกัน" in pages[0] and "ตรวจสอบความถูกต้องของเอกสาร" in pages[0]
    assert pdf_pages(documents["announcement"]) <= 7  # 7 before, when rows were split and lines crowded


def test_it_repeats_the_measures_table_head_on_every_continued_page(documents):
    pages = [_flat(p) for p in _pages(documents["plan"]) if p.strip()]
    head = [_flat("ขั้นตอนหรือวิธีการปฏิบัติ"), _flat("แนวทางการกำกับติดตาม"), _flat("ผู้รับผิดชอบ")]
    first = next(i for i, p in enumerate(pages) if head[0] in p)
    assert len(pages) - first >= 3  # the table does run on over several pages
    for page in pages[first:]:
        assert all(h in page for h in head)


def test_it_leaves_no_page_with_only_a_few_words(documents):
    # The old plan ended on a page holding one note; the old announcement on seven words.
    for name in ["analysis", "plan", "announcement", "progress"]:
        for number, page in enumerate(_pages(documents[name]), start=1):
            text = re.sub(r"-\s*[๐-๙]+\s*-", "", page)
            if text.strip():
                assert len(_flat(text)) >= 200, (name, number, text)


NARROW_CELL = (
    "ตัวชี้วัดที่ ๗ ประสิทธิภาพการสื่อสาร เผยแพร่บนเว็บไซต์ของหน่วยงาน ผลการประเมินอยู่ในระดับ “ผ่านดี” "
    "ทบทวนการเบิกจ่ายงบประมาณทุกไตรมาส ประสิทธิภาพของการให้บริการ เว็บไซต์ของหน่วยงาน"
)
# Cells 48–156 pt wide at the attachment's 11 pt: before the fix, some of these widths
# split "ประ/สิทธิภาพ" (WeasyPrint segmented a cut-off fragment of the text).
NARROW_WIDTHS = [str(w) for w in range(48, 160, 3)]


@pytest.fixture(scope="module")
def narrow_cell_lines():
    """The text in narrow cells, laid out with the documents' own CSS, as pdftotext lines."""
    template = engines["django"].from_string(
        '{% extends "reports/base.html" %}{% load thai %}{% block body %}'
        '{% for w in widths %}<table style="width: {{ w }}pt; font-size: 11pt"><tr><td>{{ text }}</td></tr>'
        "</table>{% endfor %}{% endblock %}"
    )
    html = keep_terms_together(
        template.render({"font_dir": FONT_DIR.as_uri(), "text": NARROW_CELL, "widths": NARROW_WIDTHS})
    )
    pdf = html_to_pdf(html)
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(pdf)
        f.flush()
        raw = subprocess.run(["pdftotext", "-raw", f.name, "-"], capture_output=True, check=True).stdout.decode()
    lines = [unicodedata.normalize("NFC", line).strip() for line in raw.splitlines()]
    return [line for line in lines if line and not re.fullmatch(r"-\s*[๐-๙]+\s*-", line)]  # page numbers


@pytest.mark.parametrize("word", ["ประสิทธิภาพ", "เว็บไซต์", "“ผ่านดี”", "ทบทวน", "เบิกจ่าย", "งบประมาณ"])
def test_it_never_splits_a_word_in_a_narrow_cell(narrow_cell_lines, word):
    # Every occurrence, in every width, stays whole on one line.
    assert sum(line.count(word) for line in narrow_cell_lines) == len(NARROW_WIDTHS) * NARROW_CELL.count(word)


def test_it_keeps_the_text_of_a_narrow_cell_complete(narrow_cell_lines):
    assert _flat("".join(narrow_cell_lines)) == _flat(NARROW_CELL) * len(NARROW_WIDTHS)


def test_it_has_no_css_that_breaks_thai_words_anywhere():
    for path in Path("templates/reports").glob("*.html"):
        css = path.read_text()
        assert "break-all" not in css, path
        assert "hyphens" not in css, path
        assert "\u200b" not in css, path


def test_it_keeps_terms_together_in_text_only():
    html = (
        '<html><head><title>เว็บไซต์</title></head><body><p title="เว็บไซต์">บนเว็บไซต์ระดับ “ผ่านดี”</p>'
        "<svg><text>หน่วยงาน</text></svg><td>หน่วยงาน</td></body></html>"
    )
    out = keep_terms_together(html)
    # A zero-width space keeps libthai's break at each side of the span ("บน|เว็บไซต์|ระดับ").
    assert '<p title="เว็บไซต์">บน\u200b<span class="nw">เว็บไซต์</span>\u200bระดับ <span class="nw">“ผ่านดี”</span></p>' in out
    assert "<title>เว็บไซต์</title>" in out
    assert "<svg><text>หน่วยงาน</text></svg>" in out
    assert '<td><span class="nw">หน่วยงาน</span></td>' in out
