"""Word copies (.docx) of the four documents, downloaded as a user would and read back
with python-docx: headings, agency, figures in Thai digits, tables, the Sarabun font."""

import io
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from docx import Document
from docx.oxml.ns import qn

from ita_portal.docx import CONTENT_TYPE
from plans import services
from tests.test_progress_report import sign_plan

AGENCY = "องค์การบริหารส่วนตำบลพลสงคราม"
ARABIC_FIGURE = re.compile(r"[0-9]+\.[0-9]{2}")


@pytest.fixture
def plan(seed_assessment, owner, library):
    plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    return plan


@pytest.fixture
def signed(seed_assessment, owner, wg_member, mayor, library):
    return sign_plan(seed_assessment, owner, wg_member, mayor)


def download(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"] and ".docx" in response["Content-Disposition"]
    return Document(io.BytesIO(response.content))


def texts(document):
    """Every paragraph, in the body and in table cells, in document order."""
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines += [cell.text for cell in row.cells]
    return "\n".join(lines)


def headings(document):
    return [p.text for p in document.paragraphs if p.style.name.startswith(("Heading", "Title"))]


def table_with_header(document, first_header):
    return next(t for t in document.tables if t.rows[0].cells[0].text == first_header)


def data_rows(table):
    """Rows below the header that are not a merged group row."""
    rows = []
    for row in table.rows[1:]:
        cells = row.cells
        if len({id(c._tc) for c in cells}) > 1:
            rows.append([c.text for c in cells])
    return rows


# The analysis report -----------------------------------------------------------------------


@pytest.fixture
def analysis(client, owner, seed_assessment, library):
    return download(client, owner, reverse("assessments:analysis_docx", args=[seed_assessment.pk]))


def test_it_gives_the_analysis_the_pdf_headings_and_figures_in_thai_digits(analysis):
    assert headings(analysis)[:4] == [
        "๑. ผลการประเมินในภาพรวม",
        "๒. ผลการประเมินรายตัวชี้วัด",
        "๓. ตัวชี้วัดเรียงจากคะแนนสูงไปต่ำ",
        "๔. ผลการวิเคราะห์รายตัวชี้วัด",
    ]
    assert "ภาคผนวก ความสอดคล้องของคะแนน" in headings(analysis)
    text = texts(analysis)
    assert AGENCY in text
    assert "๙๒.๒๗" in text and "ผ่านดี" in text
    assert "ประจำปีงบประมาณ พ.ศ. ๒๕๖๘" in text
    assert not ARABIC_FIGURE.findall(text)


def test_it_gives_the_analysis_the_indicator_table(analysis):
    table = table_with_header(analysis, "ตัวชี้วัด")
    rows = {row[0]: row[1] for row in data_rows(table)}
    assert rows["ตัวชี้วัดที่ ๑ การปฏิบัติหน้าที่"] == "๙๙.๓๕"
    assert rows["ตัวชี้วัดที่ ๙ การเปิดเผยข้อมูล"].startswith("๘๘.๗๕")
    assert len(rows) == 10
    assert "๗๙.๐๙" in texts(analysis) and "EITPublic" in texts(analysis)


def test_it_puts_the_analysis_charts_in_the_word_copy(analysis):
    assert len(analysis.inline_shapes) == 4


# The measures plan ------------------------------------------------------------------------


def test_it_gives_the_measures_plan_one_row_per_measure_on_a_landscape_page(client, owner, plan):
    document = download(client, owner, reverse("plans:document_docx", args=[plan.pk, "plan"]))
    assert headings(document)[1:] == [
        "๑. ที่มาและความสำคัญ",
        "๒. ผลการประเมินประจำปีงบประมาณ พ.ศ. ๒๕๖๘",
        "๓. ผลการวิเคราะห์ตัวชี้วัดจำแนกตามระดับคะแนน",
        "๔. มาตรการ โครงการ หรือกิจกรรม ประจำปีงบประมาณ พ.ศ. ๒๕๖๙",
    ]
    text = texts(document)
    assert AGENCY in text and "๙๒.๒๗" in text and "ผ่านดี" in text
    assert not ARABIC_FIGURE.findall(text)
    measures = data_rows(table_with_header(document, "ตัวชี้วัด\nคะแนน"))
    titles = sorted(row[2] for row in measures)
    assert titles == sorted(m.title for m in plan.measures.all())
    first, last = document.sections[0], document.sections[-1]
    assert first.page_width < first.page_height
    assert last.page_width > last.page_height


# The announcement --------------------------------------------------------------------------


def test_it_gives_an_editable_copy_of_the_signed_announcement_that_says_it_is_not_the_signed_one(
        client, owner, signed):
    document = download(client, owner, reverse("plans:document_docx", args=[signed.pk, "announcement"]))
    text = texts(document)
    assert document.paragraphs[0].text.startswith("สำเนาเนื้อหาประกาศสำหรับแก้ไขถ้อยคำ")
    assert "ไม่ใช่เอกสารที่ลงนาม" in document.core_properties.title
    assert f"ประกาศ{AGENCY}" in headings(document)
    assert "๙๒.๒๗" in text and "ผ่านดี" in text
    assert "ประกาศ ณ วันที่ ๒ ตุลาคม พ.ศ. ๒๕๖๘" in text
    assert "(นายสาธิต ระบบดี)" in text
    assert "/v/" not in text  # no verification link: the copy is not what was signed
    assert not ARABIC_FIGURE.findall(text)
    rows = [row for table in document.tables[1:] for row in data_rows(table)]
    assert len(rows) == signed.measures.count()


def test_it_repeats_that_the_copy_is_not_the_signed_one_in_every_footer(client, owner, signed):
    document = download(client, owner, reverse("plans:document_docx", args=[signed.pk, "announcement"]))
    for section in document.sections:
        assert "ไม่ใช่เอกสารที่ลงนาม" in section.footer.paragraphs[0].text
    assert "ไม่ใช่เอกสารที่ลงนาม" in document.sections[0].first_page_footer.paragraphs[0].text


def test_it_puts_the_uploaded_emblem_3_cm_tall_on_the_announcement(client, owner, plan):
    from django.core.files.base import ContentFile
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (90, 100), "white").save(image, "PNG")
    plan.agency.emblem.save("garuda.png", ContentFile(image.getvalue()))
    document = download(client, owner, reverse("plans:document_docx", args=[plan.pk, "announcement"]))
    assert len(document.inline_shapes) == 1
    assert round(document.inline_shapes[0].height.cm, 1) == 3.0
    assert "ยังไม่ได้อัปโหลดตราสัญลักษณ์" not in texts(document)


def test_it_labels_the_draft_announcements_copy_as_a_draft(client, owner, plan):
    document = download(client, owner, reverse("plans:document_docx", args=[plan.pk, "announcement"]))
    assert document.paragraphs[0].text == "ร่าง (ยังไม่ได้ลงนาม)"
    assert "ยังไม่ได้อัปโหลดตราสัญลักษณ์" in texts(document)


# The progress report -----------------------------------------------------------------------


def test_it_gives_the_progress_report_its_summary_and_one_block_per_measure(client, owner, signed):
    first = signed.measures.order_by("pk").first()
    services.progress_record(measure=first, quarter=1, user=owner, status="done", note="ประชุมชี้แจงบุคลากร")
    document = download(client, owner, reverse("plans:document_docx", args=[signed.pk, "progress"]))
    assert headings(document)[1:] == ["๑. สรุปผลการดำเนินการ", "๒. ผลการดำเนินการรายมาตรการและรายไตรมาส"]
    text = texts(document)
    assert AGENCY in text
    assert "(๑) ดำเนินการแล้วเสร็จ จำนวน ๑ มาตรการ" in text
    assert "ประชุมชี้แจงบุคลากร" in text
    table = table_with_header(document, "ลำดับ")
    numbers = {row.cells[0].text for row in table.rows[1:]}
    count = signed.measures.count()
    assert numbers == {str(n).translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")) for n in range(1, count + 1)}
    assert document.sections[0].page_width > document.sections[0].page_height


# Fonts and page ---------------------------------------------------------------------------


def test_it_sets_sarabun_16pt_on_the_normal_style_including_complex_script(analysis):
    rpr = analysis.styles["Normal"].element.rPr
    fonts = rpr.find(qn("w:rFonts"))
    assert {fonts.get(qn(f"w:{slot}")) for slot in ("ascii", "hAnsi", "eastAsia", "cs")} == {"Sarabun"}
    assert rpr.find(qn("w:sz")).get(qn("w:val")) == "32"
    assert rpr.find(qn("w:szCs")).get(qn("w:val")) == "32"
    assert rpr.find(qn("w:lang")).get(qn("w:bidi")) == "th-TH"
    heading = analysis.styles["Heading 1"].element.rPr.find(qn("w:rFonts"))
    assert heading.get(qn("w:cs")) == "Sarabun" and heading.get(qn("w:asciiTheme")) is None
    section = analysis.sections[0]
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)


# Access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plan", "announcement", "progress"])
def test_it_refuses_an_outsider_the_plan_copies_as_it_refuses_the_pdf(client, outsider, signed, kind):
    client.force_login(outsider)
    pdf = client.get(reverse("plans:document", args=[signed.pk, kind]))
    word = client.get(reverse("plans:document_docx", args=[signed.pk, kind]))
    assert word.status_code == pdf.status_code == 404


def test_it_refuses_an_outsider_the_analysis_copy_as_it_refuses_the_pdf(client, outsider, seed_assessment):
    client.force_login(outsider)
    pdf = client.get(reverse("assessments:analysis_pdf", args=[seed_assessment.pk]))
    word = client.get(reverse("assessments:analysis_docx", args=[seed_assessment.pk]))
    assert word.status_code == pdf.status_code == 404


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, plan):
    for url in (reverse("plans:document_docx", args=[plan.pk, "plan"]),
                reverse("assessments:analysis_docx", args=[plan.assessment_id])):
        response = client.get(url)
        assert response.status_code == 302
        assert "login" in response["Location"]


def test_it_answers_404_for_an_unknown_document_kind(client, owner, plan):
    client.force_login(owner)
    assert client.get(reverse("plans:document_docx", args=[plan.pk, "minutes"])).status_code == 404


# Links and command --------------------------------------------------------------------------


def test_it_offers_a_word_link_beside_each_pdf_on_the_plan_page(client, owner, signed):
    client.force_login(owner)
    page = client.get(reverse("plans:detail", args=[signed.pk])).content.decode()
    for kind in ("plan", "announcement", "progress"):
        assert reverse("plans:document_docx", args=[signed.pk, kind]) in page
    assert reverse("assessments:analysis_docx", args=[signed.assessment_id]) in page


def test_it_offers_a_word_link_beside_the_analysis_pdf_on_the_agency_and_analysis_pages(client, owner, plan):
    client.force_login(owner)
    url = reverse("assessments:analysis_docx", args=[plan.assessment_id])
    assert url in client.get(reverse("plans:agency", args=["A001"])).content.decode()
    assert url in client.get(reverse("assessments:analysis_edit", args=[plan.assessment_id])).content.decode()


def test_it_lists_the_word_copies_with_the_pdfs_in_the_plan_admin(signed):
    from django.contrib import admin

    from plans.models import Plan

    html = admin.site._registry[Plan].documents(signed)
    for kind in ("plan", "announcement", "progress"):
        assert reverse("plans:document", args=[signed.pk, kind]) in html
        assert reverse("plans:document_docx", args=[signed.pk, kind]) in html
    assert reverse("assessments:analysis_docx", args=[signed.assessment_id]) in html
    assert "ไม่ใช่เอกสารที่ลงนาม" in html


@pytest.mark.parametrize("kind", ["analysis", "plan", "announcement", "progress"])
def test_it_writes_a_valid_docx_with_the_command(signed, tmp_path, kind):
    out = tmp_path / f"{kind}.docx"
    call_command("render_document", kind, "A001", "2568", "--output", str(out), "--format", "docx")
    document = Document(str(out))
    assert AGENCY in texts(document)


def test_it_still_writes_a_pdf_by_default(plan, tmp_path):
    out = tmp_path / "plan.pdf"
    call_command("render_document", "plan", "A001", "2568", "--output", str(out))
    assert out.read_bytes().startswith(b"%PDF")


def test_it_puts_a_thai_file_name_in_the_content_disposition():
    from ita_portal.docx import docx_response

    response = docx_response(b"PK", "ประกาศ-A001.docx")
    header = response["Content-Disposition"]
    assert "filename*=utf-8''%e0%b8%9b" in header.lower()
    assert 'filename="______-A001.docx"' in header


# Thin data ---------------------------------------------------------------------------------


def test_it_writes_the_analysis_of_an_assessment_that_has_only_an_overall_score(agency_b, library):
    from assessments.docx_documents import render_analysis_docx
    from tests.conftest import make_assessment

    assessment = make_assessment(agency_b, 2567, {("overall", ""): "85.42"})
    text = texts(Document(io.BytesIO(render_analysis_docx(assessment, charts=False))))
    assert "๘๕.๔๒" in text
    assert "ยังไม่มีคะแนนรายเครื่องมือในระบบ" in text
    assert "ยังไม่มีคะแนนรายตัวชี้วัดของปีนี้ในระบบ" in text


def test_it_follows_the_agencys_choice_of_arabic_digits_in_tables(client, owner, plan):
    plan.agency.table_digits = "arabic"
    plan.agency.save(update_fields=["table_digits"])
    document = download(client, owner, reverse("plans:document_docx", args=[plan.pk, "plan"]))
    tools = data_rows(table_with_header(document, "เครื่องมือการประเมิน"))
    assert tools[0][2] == "98.58"
    assert "๙๒.๒๗" in texts(document)  # the running text stays in Thai digits, as in the PDF


@pytest.mark.parametrize("kind", ["plan", "announcement", "progress"])
def test_it_prints_no_arabic_digit_in_the_word_copies_of_the_plan(client, owner, signed, kind):
    # The PDFs print every code and figure in Thai digits (O๒๘, i๑); the Word copy must too.
    # The signed announcement's copy names the portal's address in its notice, so only the
    # body text and tables are read.
    document = download(client, owner, reverse("plans:document_docx", args=[signed.pk, kind]))
    arabic = [line for line in texts(document).splitlines() if re.search("[0-9]", line) and "http" not in line]
    assert not arabic, arabic[:5]


def test_it_prints_no_arabic_digit_in_the_word_copy_of_the_analysis(analysis):
    arabic = [line for line in texts(analysis).splitlines() if re.search("[0-9]", line)]
    assert not arabic, arabic[:5]
