"""Exporting scores from the admin changelist: long layout, Thai headers, filters apply, and an
exported file imports back without changing anything."""

import io

import openpyxl
import pytest
from django.urls import reverse

from assessments.models import Agency, Assessment, FiscalYear, Score
from assessments.resources import THAI_COLUMNS, import_scores
from tests.conftest import make_assessment

A001 = "A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2568"


def export(client, query="", file_format="csv"):
    url = reverse("admin:assessments_score_export") + query
    page = client.get(url)
    formats = {"csv": "0", "xlsx": "1"}
    assert page.context["form"].fields["format"].initial == "0"
    return client.post(url, {"format": formats[file_format], "resource": "0"})


def exported_codes(response):
    lines = response.content.decode("utf-8-sig").splitlines()[1:]
    return {line.split(",")[0] for line in lines}


def database_state():
    return (
        Agency.objects.count(),
        sorted(Assessment.objects.values_list("id", "overall", "level", "urgent_indicator_count")),
        sorted(Score.objects.values_list("id", "assessment_id", "item_id", "part", "value")),
    )


def test_it_exports_the_long_layout_with_thai_headers(client, admin_user, agency_a):
    make_assessment(agency_a, 2568, {("overall", ""): "92.27", ("e4", "public"): "98.80"})
    client.force_login(admin_user)

    response = export(client)

    assert response.content == (
        "\ufeff" + ",".join(THAI_COLUMNS) + "\r\n"
        f"{A001},overall,92.27\r\n"
        f"{A001},e4:public,98.80\r\n"
    ).encode()
    assert response["Content-Disposition"].startswith('attachment; filename="ita-scores-')


def test_it_offers_csv_and_xlsx_only(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("admin:assessments_score_export"))

    assert page.context["form"].fields["format"].choices == [
        ("0", "CSV (UTF-8 เปิดด้วย Excel ได้)"), ("1", "Excel (.xlsx)")
    ]


@pytest.mark.parametrize(
    "query, codes",
    [
        ("?province=พังงา", {"B001"}),
        ("?urgent=yes", {"B001"}),
        ("?urgent=no", {"A001"}),
        ("?level=ผ่านดี", {"A001"}),
    ],
)
def test_it_exports_only_the_filtered_changelist(client, admin_user, seed_assessment, other_assessment, query, codes):
    client.force_login(admin_user)

    assert exported_codes(export(client, query)) == codes


def test_it_exports_the_filtered_fiscal_year(client, admin_user, seed_assessment, agency_b):
    make_assessment(agency_b, 2567, {("overall", ""): "85.42"})
    client.force_login(admin_user)
    fy2567 = FiscalYear.objects.get(year=2567)

    response = export(client, f"?assessment__fiscal_year__id__exact={fy2567.pk}")

    assert response.content.decode("utf-8-sig").splitlines()[1:] == [
        "B001,เทศบาลตำบลคึกคัก,ทต.,พังงา,ตะกั่วป่า,2567,overall,85.42"
    ]


def test_it_exports_only_the_users_agencies(client, outsider, seed_assessment, other_assessment):
    client.force_login(outsider)

    assert exported_codes(export(client)) == {"B001"}


def test_it_imports_an_exported_csv_without_changing_anything(client, admin_user, seed_assessment, other_assessment):
    client.force_login(admin_user)
    content = export(client).content
    before = database_state()

    report = import_scores(content)

    assert (report.new, report.updated, report.unchanged) == (0, 0, Score.objects.count())
    assert database_state() == before


def test_it_imports_an_exported_xlsx_without_changing_anything(client, admin_user, seed_assessment, other_assessment):
    client.force_login(admin_user)
    content = export(client, file_format="xlsx").content
    before = database_state()

    report = import_scores(content)

    assert (report.new, report.updated, report.unchanged) == (0, 0, Score.objects.count())
    assert database_state() == before


def test_it_writes_scores_as_numbers_in_xlsx(client, admin_user, seed_assessment):
    client.force_login(admin_user)

    sheet = openpyxl.load_workbook(io.BytesIO(export(client, file_format="xlsx").content)).active
    header, first = [c.value for c in sheet[1]], [c.value for c in sheet[2]]

    assert header == list(THAI_COLUMNS)
    assert first[5:] == [2568, "overall", 92.27]


def test_it_counts_the_scores_it_will_export(client, admin_user, seed_assessment, other_assessment):
    client.force_login(admin_user)

    html = client.get(reverse("admin:assessments_score_export") + "?province=พังงา").content.decode()

    assert "ส่งออกคะแนน <strong>10</strong> รายการ" in html
