"""Hostile import files: workbooks that inflate to millions of rows, endless CSV cells,
forged dimensions, entity declarations, oversized uploads. Each is built here, in memory,
and refused with a Thai message naming the limit; nothing is written."""

import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from assessments.models import Agency, Assessment, ImportBatch, Score
from assessments.resources import FileLimits, import_scores

SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{dimension}<sheetData>'
)
HEADER_ROW = (
    '<row><c t="inlineStr"><is><t>agency_code</t></is></c><c t="inlineStr"><is><t>fiscal_year</t></is></c>'
    '<c t="inlineStr"><is><t>overall</t></is></c></row>'
)
DATA_ROW = '<row><c t="inlineStr"><is><t>A001</t></is></c><c><v>2568</v></c><c><v>90</v></c></row>'
SHEET_TAIL = "</sheetData></worksheet>"


def small_workbook():
    """A real workbook (wide layout, one agency), as Excel would send it."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["agency_code", "fiscal_year", "overall"])
    workbook.active.append(["A001", 2568, 90.0])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_member(data, name, content):
    """The workbook `data` with member `name` replaced by `content` (deflated)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info.filename))
    return out.getvalue()


def bomb(rows, dimension=""):
    """A valid workbook whose sheet repeats one data row `rows` times: deflate squeezes the
    repetition several hundred to one, so a few tens of KB inflate to tens of MB."""
    xml = SHEET_HEAD.format(dimension=dimension) + HEADER_ROW + DATA_ROW * rows + SHEET_TAIL
    return with_member(small_workbook(), SHEET, xml.encode())


def database_state():
    return (
        Agency.objects.count(),
        sorted(Assessment.objects.values_list("id", "overall")),
        sorted(Score.objects.values_list("id", "value")),
    )


def refused(source, name="scores.xlsx"):
    """The first reason `source` is refused (a limit comes first, before row problems)."""
    upload = SimpleUploadedFile(name, source)
    with pytest.raises(ValidationError) as refusal:
        import_scores(upload)
    return refusal.value.messages[0]


def admin_upload(client, data, name):
    return client.post(reverse("admin:assessments_score_import"), {"import_file": SimpleUploadedFile(name, data)})


# Workbooks


def test_it_refuses_a_workbook_bomb_from_its_zip_directory(seed_assessment):
    data = bomb(300_000)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(SHEET)
    assert info.file_size / info.compress_size > 250  # the attack: a tiny file, a huge sheet
    before = database_state()

    message = refused(data)

    assert "ถูกบีบอัดมากผิดปกติ: ส่วน xl/worksheets/sheet1.xml" in message
    assert "เกิน 100 เท่า" in message
    assert database_state() == before


def test_it_refuses_the_bomb_uploaded_to_the_admin_with_the_limit_named(client, owner, seed_assessment):
    client.force_login(owner)
    before = database_state()

    response = admin_upload(client, bomb(300_000), "scores.xlsx")

    assert response.status_code == 200
    page = response.content.decode()
    assert "นำเข้าไม่ได้" in page and "ถูกบีบอัดมากผิดปกติ" in page
    assert "confirm_form" not in response.context
    assert database_state() == before
    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED and not batch.file


def test_it_stops_reading_rows_at_the_row_limit(settings, seed_assessment):
    # With the ratio check out of the way, the streaming reader itself stops at the limit:
    # 300,000 rows are in the sheet, the refusal comes after 1,000.
    settings.IMPORT_MAX_XLSX_RATIO = 1_000_000
    settings.IMPORT_MAX_ROWS = 1000
    before = database_state()

    message = refused(bomb(300_000))

    assert message == "ไฟล์มีข้อมูลเกิน 1,000 แถว ซึ่งเป็นจำนวนแถวสูงสุดที่นำเข้าได้ต่อไฟล์ ให้แบ่งเป็นหลายไฟล์"
    assert database_state() == before


def test_it_refuses_a_workbook_that_inflates_past_the_limit(settings, seed_assessment):
    settings.IMPORT_MAX_XLSX_RATIO = 1_000_000
    settings.IMPORT_MAX_XLSX_INFLATED_BYTES = 4 * 1024 * 1024

    message = refused(bomb(100_000))  # about 8 MB of XML

    assert "เมื่อคลายการบีบอัดแล้วใหญ่เกิน 4 MB" in message


def test_it_refuses_a_workbook_whose_directory_understates_the_sheet(seed_assessment):
    data = bytearray(bomb(20_000))
    # Declare the sheet 1,000 bytes long in the central directory: the reader never inflates
    # more than declared, and the cut-off sheet fails its checksum.
    entry = data.index(b"PK\x01\x02")
    while True:
        name_length = int.from_bytes(data[entry + 28:entry + 30], "little")
        if data[entry + 46:entry + 46 + name_length] == SHEET.encode():
            break
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 24:entry + 28] = (1000).to_bytes(4, "little")
    before = database_state()

    message = refused(bytes(data))

    assert message == "อ่านไฟล์ .xlsx ไม่ได้ (ไฟล์เสียหรือไม่ใช่ไฟล์ Excel)"
    assert database_state() == before


def test_it_reads_a_workbook_that_declares_a_huge_dimension_by_its_real_rows(seed_assessment):
    # "A1:XFD1048576" would pad every row to 16,384 cells if the declared size were trusted.
    data = bomb(1, dimension='<dimension ref="A1:XFD1048576"/>')

    report = import_scores(SimpleUploadedFile("scores.xlsx", data))

    assert (report.updated, report.rows) == (1, 1)
    assert seed_assessment.scores.get(item__code="overall").value == 90


def test_it_refuses_a_row_past_the_column_limit(seed_assessment):
    far = '<row><c r="A2" t="inlineStr"><is><t>A001</t></is></c><c r="XFD2"><v>1</v></c></row>'
    xml = SHEET_HEAD.format(dimension="") + HEADER_ROW + far + SHEET_TAIL

    message = refused(with_member(small_workbook(), SHEET, xml.encode()))

    assert message == "แถวที่ 2 มี 16,384 คอลัมน์ เกิน 200 คอลัมน์ ซึ่งเป็นจำนวนสูงสุดที่นำเข้าได้"


def test_it_refuses_a_cell_past_the_cell_limit_in_a_workbook(seed_assessment):
    workbook = openpyxl.Workbook()
    workbook.active.append(["agency_code", "agency_name", "fiscal_year", "overall"])
    workbook.active.append(["A001", "ก" * 5000, 2568, 90.0])
    buffer = io.BytesIO()
    workbook.save(buffer)

    message = refused(buffer.getvalue())

    assert message == (
        "แถวที่ 2 คอลัมน์ B: ข้อความในช่องยาว 5,000 ตัวอักษร เกิน 1,000 ตัวอักษร ซึ่งเป็นความยาวสูงสุดของหนึ่งช่อง"
    )


def test_it_refuses_entity_declarations_in_a_workbook_part(seed_assessment):
    workbook = small_workbook()
    part = zipfile.ZipFile(io.BytesIO(workbook)).read("xl/workbook.xml").decode()
    declaration, _, rest = part.partition("?>")
    laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>'
    data = with_member(workbook, "xl/workbook.xml", (declaration + "?>" + laughs + rest).encode())

    message = refused(data)

    assert message == "ไฟล์ .xlsx มีการประกาศ DOCTYPE หรือ ENTITY ซึ่งไฟล์ Excel ไม่มี จึงไม่อ่านไฟล์นี้"


def test_it_refuses_a_sheet_with_a_doctype(seed_assessment):
    xml = SHEET_HEAD.replace("\n", '\n<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>\n').format(dimension="")
    xml += HEADER_ROW + DATA_ROW + SHEET_TAIL

    message = refused(with_member(small_workbook(), SHEET, xml.encode()))

    assert message == "ไฟล์ .xlsx มีการประกาศ DOCTYPE หรือ ENTITY ซึ่งไฟล์ Excel ไม่มี จึงไม่อ่านไฟล์นี้"


def test_it_refuses_a_bomb_given_to_the_command(seed_assessment, tmp_path):
    path = tmp_path / "national.xlsx"
    path.write_bytes(bomb(300_000))
    before = database_state()

    with pytest.raises(CommandError) as refusal:
        call_command("import_scores", str(path), stdout=io.StringIO())

    assert "ถูกบีบอัดมากผิดปกติ" in str(refusal.value)
    assert database_state() == before


# CSV


def test_it_refuses_a_csv_header_cell_of_128_kib_in_the_admin(client, owner, seed_assessment):
    client.force_login(owner)
    data = ("agency_code,fiscal_year," + "x" * (128 * 1024) + "\nA001,2568,90\n").encode()
    before = database_state()

    response = admin_upload(client, data, "scores.csv")

    assert response.status_code == 200
    assert "บรรทัดที่ 1 ของไฟล์ยาวเกิน 65,536 ตัวอักษร ซึ่งเป็นความยาวสูงสุดของหนึ่งบรรทัด" in response.content.decode()
    assert database_state() == before


def test_it_refuses_a_csv_cell_past_the_cell_limit(seed_assessment):
    data = ("agency_code,agency_name,fiscal_year,overall\nA001," + "ก" * 2000 + ",2568,90\n").encode()

    message = refused(data, "scores.csv")

    assert message == (
        "แถวที่ 2 คอลัมน์ B: ข้อความในช่องยาว 2,000 ตัวอักษร เกิน 1,000 ตัวอักษร ซึ่งเป็นความยาวสูงสุดของหนึ่งช่อง"
    )


def test_it_refuses_a_quoted_csv_cell_running_over_many_lines(seed_assessment):
    endless = "\n".join(["y" * 1000] * 200)  # 200 KB in one quoted cell, no line over the limit
    data = ('agency_code,agency_name,fiscal_year,overall\nA001,"' + endless + '",2568,90\n').encode()

    message = refused(data, "scores.csv")

    assert "ข้อความในช่องยาว" in message and "1,000 ตัวอักษร" in message


def test_it_refuses_a_csv_past_the_row_limit(settings, seed_assessment):
    settings.IMPORT_MAX_ROWS = 100
    data = ("agency_code,fiscal_year,overall\n" + "A001,2568,90\n" * 5000).encode()
    before = database_state()

    message = refused(data, "scores.csv")

    assert message == "ไฟล์มีข้อมูลเกิน 100 แถว ซึ่งเป็นจำนวนแถวสูงสุดที่นำเข้าได้ต่อไฟล์ ให้แบ่งเป็นหลายไฟล์"
    assert database_state() == before


def test_it_refuses_a_csv_past_the_column_limit(seed_assessment):
    data = ("agency_code,fiscal_year," + ",".join(f"c{n}" for n in range(300)) + "\n").encode()

    message = refused(data, "scores.csv")

    assert message == "แถวที่ 1 มี 302 คอลัมน์ เกิน 200 คอลัมน์ ซึ่งเป็นจำนวนสูงสุดที่นำเข้าได้"


# The upload itself


def test_it_refuses_an_oversized_upload_in_the_admin_before_reading_it(client, owner, settings, seed_assessment):
    settings.IMPORT_MAX_FILE_BYTES = 10 * 1024
    client.force_login(owner)
    data = ("agency_code,fiscal_year,overall\n" + "A001,2568,90\n" * 2000).encode()
    assert len(data) // 1024 == 25

    response = admin_upload(client, data, "scores.csv")

    assert response.status_code == 200
    assert "ไฟล์ใหญ่เกินกำหนด: นำเข้าได้ไม่เกิน 10 KB ต่อไฟล์ (ไฟล์นี้ 25 KB) ให้แบ่งเป็นหลายไฟล์" in (
        response.content.decode()
    )
    assert not ImportBatch.objects.exists()
    assert seed_assessment.scores.get(item__code="overall").value != 90


def test_it_refuses_an_oversized_file_given_to_the_command(settings, seed_assessment, tmp_path):
    settings.IMPORT_MAX_FILE_BYTES = 1024
    path = tmp_path / "scores.csv"
    path.write_text("agency_code,fiscal_year,overall\n" + "A001,2568,90\n" * 200)

    with pytest.raises(CommandError) as refusal:
        call_command("import_scores", str(path), stdout=io.StringIO())

    assert "ไฟล์ใหญ่เกินกำหนด: นำเข้าได้ไม่เกิน 1 KB ต่อไฟล์" in str(refusal.value)


def test_it_admits_the_national_question_level_file_by_default():
    limits = FileLimits.from_settings()
    national_rows = 8317 * 61  # FY2568 question level, long layout

    assert limits.rows >= national_rows
    assert limits.file_bytes >= 100 * 1024 * 1024  # ≈ 80 MB as CSV
    assert limits.xlsx_inflated_bytes >= 400 * 1024 * 1024  # ≈ 370 MB of sheet XML from openpyxl
