import csv
import io
from decimal import Decimal

import openpyxl
import pytest
import tablib
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from assessments.models import Agency, Assessment, ImportBatch, Score, compute_assessment
from assessments.resources import COLUMNS, ScoreResource, import_scores
from assessments.services import assessment_refresh
from tests.seed_figures import SEED_000


def item_of(code, part):
    return f"{code}:{part}" if part else code


def row(item, score, code="A001", year=2568, name="", agency_type="", province="", district=""):
    return [code, name, agency_type, province, district, year, item, score]


def seed_rows(code="A001", name="องค์การบริหารส่วนตำบลพลสงคราม"):
    return [
        row(item_of(c, p), value, code=code, name=name, agency_type="อบต.", province="นครราชสีมา",
            district="โนนสูง")
        for (c, p), value in SEED_000.items()
    ]


def write_csv(tmp_path, rows, header=COLUMNS, name="scores.csv", bom=False):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8")
    return path


def database_state():
    return (
        Agency.objects.count(),
        Assessment.objects.count(),
        sorted(Score.objects.values_list("id", "assessment_id", "item_id", "part", "value")),
    )


def overall_score(assessment):
    return assessment.scores.get(item__code="overall", part="")


def refused_message(tmp_path, rows, **kwargs):
    path = write_csv(tmp_path, rows, **kwargs)
    with pytest.raises(CommandError) as refused:
        call_command("import_scores", str(path), stdout=io.StringIO())
    return str(refused.value)


def test_it_imports_seed_000_and_scores_it_as_published(db, agency_a, tmp_path):
    path = write_csv(tmp_path, seed_rows())
    call_command("import_scores", str(path), stdout=io.StringIO())

    assessment = Assessment.objects.get(agency=agency_a, fiscal_year__year=2568)
    result = compute_assessment(assessment)
    assert result.overall.value.quantize(Decimal("0.01")) == Decimal("92.27")
    assert result.level.name == "ผ่านดี"
    assert assessment.scores.count() == len(SEED_000)


def test_it_refreshes_the_assessment_summary(db, agency_a, tmp_path):
    import_scores(write_csv(tmp_path, seed_rows()))

    assessment = Assessment.objects.get(agency=agency_a, fiscal_year__year=2568)
    assert assessment.overall == Decimal("92.27")
    assert assessment.level == "ผ่านดี"


def test_it_reports_new_rows_and_created_assessment(db, agency_a, tmp_path):
    report = import_scores(write_csv(tmp_path, seed_rows()))

    assert (report.new, report.updated, report.unchanged) == (len(SEED_000), 0, 0)
    assert (report.agencies_created, report.assessments_created) == (0, 1)


def test_it_prints_the_counts(db, agency_a, tmp_path):
    out = io.StringIO()
    call_command("import_scores", str(write_csv(tmp_path, seed_rows())), stdout=out)

    assert f"คะแนนใหม่ {len(SEED_000)}" in out.getvalue()


def test_it_changes_nothing_on_reimport(db, agency_a, tmp_path):
    path = write_csv(tmp_path, seed_rows())
    import_scores(path)
    before = database_state()

    report = import_scores(path)

    assert (report.new, report.updated, report.unchanged) == (0, 0, len(SEED_000))
    assert database_state() == before


def test_it_updates_a_changed_figure(db, seed_assessment, tmp_path):
    report = import_scores(write_csv(tmp_path, [row("overall", "90.00"), row("1", "99.35")]))

    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    assert overall_score(seed_assessment).value == Decimal("90.00")
    seed_assessment.refresh_from_db()
    assert seed_assessment.overall == Decimal("90.00")


def test_it_writes_nothing_on_a_dry_run(db, seed_assessment, tmp_path):
    before = database_state()

    report = import_scores(write_csv(tmp_path, [row("overall", "90.00")]), dry_run=True)

    assert report.updated == 1
    assert database_state() == before


@pytest.mark.parametrize(
    "score, reason",
    [
        ("101", "คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ 101)"),
        ("-1", "คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ -1)"),
        ("abc", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ abc)"),
        ("", "ต้องระบุคะแนน"),
        ("92.275", "คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง (ได้ 92.275)"),
    ],
)
def test_it_refuses_a_bad_score_and_writes_nothing(db, seed_assessment, tmp_path, score, reason):
    before = database_state()

    message = refused_message(tmp_path, [row("overall", "90.00"), row("1", score)])

    assert f"แถวที่ 3 คอลัมน์ score: {reason}" in message
    assert database_state() == before
    assert overall_score(seed_assessment).value == Decimal("92.27")


def test_it_accepts_a_third_decimal_that_is_zero(db, seed_assessment, tmp_path):
    import_scores(write_csv(tmp_path, [row("overall", "92.270"), row("1", "98.500")]))

    assert seed_assessment.scores.get(item__code="1").value == Decimal("98.50")


def test_it_refuses_an_item_unknown_in_that_year(db, seed_assessment, tmp_path):
    before = database_state()

    # FY2567 has only overall, tools and indicators: no question items.
    message = refused_message(tmp_path, [row("overall", "90.00"), row("O12", "50.00", year=2567)])

    assert "แถวที่ 3 คอลัมน์ item: ไม่มีรายการ O12 ในกรอบการประเมินปีงบประมาณ 2567" in message
    assert database_state() == before
    assert overall_score(seed_assessment).value == Decimal("92.27")


def test_it_refuses_an_unknown_fiscal_year(db, seed_assessment, tmp_path):
    before = database_state()

    message = refused_message(tmp_path, [row("overall", "90.00"), row("overall", "90.00", year=2599)])

    assert "แถวที่ 3 คอลัมน์ fiscal_year: ไม่มีปีงบประมาณ 2599 ในระบบ" in message
    assert database_state() == before


def test_it_names_the_missing_columns(db, seed_assessment, tmp_path):
    before = database_state()
    header = [c for c in COLUMNS if c not in ("fiscal_year", "score")]

    message = refused_message(tmp_path, [row("overall", "90.00")[:5] + ["overall"]], header=header)

    assert "แถวที่ 1 (หัวตาราง): ไม่มีคอลัมน์ fiscal_year (ปีงบประมาณ), score (คะแนน)" in message
    assert database_state() == before
    assert overall_score(seed_assessment).value == Decimal("92.27")


def test_it_refuses_the_same_key_twice_naming_both_rows(db, seed_assessment, tmp_path):
    before = database_state()

    message = refused_message(
        tmp_path, [row("overall", "90.00"), row("e4:public", "98.80"), row("E4:Public", "97.00")]
    )

    expected = "แถวที่ 4 คอลัมน์ item: รายการ e4:public ของหน่วยงานรหัส A001 ปีงบประมาณ 2568 ซ้ำกับแถวที่ 3"
    assert expected in message
    assert database_state() == before
    assert overall_score(seed_assessment).value == Decimal("92.27")


def test_it_refuses_an_empty_agency_code(db, seed_assessment, tmp_path):
    before = database_state()

    message = refused_message(tmp_path, [row("overall", "90.00"), row("overall", "90.00", code="")])

    assert "แถวที่ 3 คอลัมน์ agency_code: ต้องระบุรหัสหน่วยงาน" in message
    assert database_state() == before


def test_it_refuses_an_unknown_agency_type(db, seed_assessment, tmp_path):
    message = refused_message(tmp_path, [row("overall", "90.00", agency_type="อำเภอ")])

    assert "แถวที่ 2 คอลัมน์ agency_type: ไม่รู้จักประเภทหน่วยงาน อำเภอ" in message


def test_it_refuses_a_part_on_an_item_without_parts(db, seed_assessment, tmp_path):
    message = refused_message(tmp_path, [row("i1:public", "90.00")])

    assert "แถวที่ 2 คอลัมน์ item: รายการ i1 ไม่มีคะแนนแยกส่วน public/survey" in message


def test_it_requires_a_name_for_a_new_agency(db, tmp_path):
    message = refused_message(tmp_path, [row("overall", "90.00", code="N001")])

    assert "แถวที่ 2 คอลัมน์ agency_name: ต้องระบุชื่อหน่วยงาน" in message
    assert not Agency.objects.filter(code="N001").exists()


def test_it_reports_every_bad_row(db, seed_assessment, tmp_path):
    before = database_state()

    message = refused_message(
        tmp_path,
        [row("1", "101"), row("overall", "90.00"), row("x99", "50.00"), row("2", "abc"), row("3", "100")],
    )

    lines = message.splitlines()
    assert [line.split(" คอลัมน์")[0] for line in lines] == ["แถวที่ 2", "แถวที่ 4", "แถวที่ 5"]
    assert database_state() == before


def test_it_raises_a_validation_error_listing_every_message(db, seed_assessment, tmp_path):
    with pytest.raises(ValidationError) as refused:
        import_scores(write_csv(tmp_path, [row("1", "101"), row("2", "-1")]))

    assert len(refused.value.messages) == 2


def test_it_creates_an_unknown_agency_with_its_place(db, tmp_path):
    rows = [
        row("overall", "85.42", code="T001", name="เทศบาลตำบลคึกคัก", agency_type="ทต.",
            province="พังงา", district="ตะกั่วป่า", year=2567)
    ]

    report = import_scores(write_csv(tmp_path, rows))

    agency = Agency.objects.get(code="T001")
    assert (agency.name, agency.agency_type, agency.province, agency.district) == (
        "เทศบาลตำบลคึกคัก",
        Agency.Type.SUBDISTRICT_MUNICIPALITY,
        "พังงา",
        "ตะกั่วป่า",
    )
    assert (report.agencies_created, report.assessments_created) == (1, 1)
    assessment = Assessment.objects.get(agency=agency, fiscal_year__year=2567)
    assert assessment.scores.get().value == Decimal("85.42")


def test_it_does_not_rename_an_existing_agency(db, agency_a, tmp_path):
    import_scores(write_csv(tmp_path, [row("overall", "90.00", name="ชื่ออื่น", province="ที่อื่น")]))

    agency_a.refresh_from_db()
    assert (agency_a.name, agency_a.province) == ("องค์การบริหารส่วนตำบลพลสงคราม", "นครราชสีมา")


def test_it_matches_items_without_regard_to_case(db, agency_a, tmp_path):
    rows = [row("Overall", "92.27"), row("iit", "98.58"), row("o12", "50.00"), row("E4:PUBLIC", "98.80")]

    import_scores(write_csv(tmp_path, rows))

    stored = set(Score.objects.values_list("item__code", "part", "value"))
    assert stored == {
        ("overall", "", Decimal("92.27")),
        ("IIT", "", Decimal("98.58")),
        ("O12", "", Decimal("50.00")),
        ("e4", "public", Decimal("98.80")),
    }


def test_it_accepts_a_utf8_bom(db, agency_a, tmp_path):
    report = import_scores(write_csv(tmp_path, [row("overall", "92.27")], bom=True))

    assert report.new == 1


def test_it_reads_bytes_and_xlsx(db, agency_a, tmp_path):
    dataset = tablib.Dataset(*[row(item_of(c, p), v) for (c, p), v in SEED_000.items()], headers=COLUMNS)
    path = tmp_path / "scores.xlsx"
    path.write_bytes(dataset.export("xlsx"))

    report = import_scores(path)

    assert report.new == len(SEED_000)
    assert overall_score(Assessment.objects.get(agency=agency_a)).value == Decimal("92.27")


def test_it_refuses_an_agency_outside_the_allowed_ones(
    db, seed_assessment, other_assessment, agency_a, tmp_path
):
    before = database_state()
    rows = [row("overall", "90.00"), row("1", "10.00", code="B001")]

    with pytest.raises(ValidationError) as refused:
        import_scores(write_csv(tmp_path, rows), allowed_agency_ids={agency_a.pk})

    assert refused.value.messages == [
        "แถวที่ 3 คอลัมน์ agency_code: ไม่มีสิทธิ์นำเข้าคะแนนของหน่วยงานรหัส B001"
    ]
    assert database_state() == before
    assert other_assessment.scores.get(item__code="1").value == Decimal("80.00")


def test_it_refuses_a_new_agency_to_a_scoped_import(db, agency_a, tmp_path):
    rows = [row("overall", "90.00", code="N001", name="อบต.ใหม่")]

    with pytest.raises(ValidationError) as refused:
        import_scores(write_csv(tmp_path, rows), allowed_agency_ids={agency_a.pk})

    assert "ไม่มีสิทธิ์เพิ่มหน่วยงานใหม่" in refused.value.messages[0]
    assert not Agency.objects.filter(code="N001").exists()


def write_wide(tmp_path, header, rows, name="wide.csv"):
    return write_csv(tmp_path, rows, header=header, name=name)


def xlsx(tmp_path, header, rows, name="scores.xlsx"):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for cells in rows:
        sheet.append(cells)
    path = tmp_path / name
    workbook.save(path)
    return path


def stored(assessment):
    return dict(assessment.scores.values_list("item__code", "value"))


def test_it_imports_the_wide_layout_headed_by_item_codes(db, agency_a, tmp_path):
    header = ["agency_code", "fiscal_year", "overall", "1", "9.1", "e4:public"]
    path = write_wide(tmp_path, header, [["A001", "2568", "92.27", "99.35", "87.50", "98.80"]])

    report = import_scores(path)

    assert report.new == 4
    assessment = Assessment.objects.get(agency=agency_a)
    assert set(assessment.scores.values_list("item__code", "part", "value")) == {
        ("overall", "", Decimal("92.27")),
        ("1", "", Decimal("99.35")),
        ("9.1", "", Decimal("87.50")),
        ("e4", "public", Decimal("98.80")),
    }


def test_it_reads_thai_indicator_names_as_wide_headers(db, agency_a, tmp_path):
    header = ["รหัสหน่วยงาน", "ปีงบประมาณ", "คะแนนรวม", "การปฏิบัติหน้าที่", "ตัวชี้วัดที่ 2 การใช้งบประมาณ",
              "ตัวชี้วัดที่ ๑๐", "ตัวชี้วัดย่อยที่ 9.1 ข้อมูลพื้นฐาน"]
    path = write_wide(tmp_path, header, [["A001", "๒๕๖๘", "92.27", "99.35", "100.00", "85.00", "87.50"]])

    import_scores(path)

    assessment = Assessment.objects.get(agency=agency_a)
    assert stored(assessment) == {
        "overall": Decimal("92.27"), "1": Decimal("99.35"), "2": Decimal("100.00"), "10": Decimal("85.00"),
        "9.1": Decimal("87.50"),
    }


def test_it_reads_an_empty_wide_cell_as_no_figure(db, seed_assessment, tmp_path):
    path = write_wide(tmp_path, ["agency_code", "fiscal_year", "overall", "1"], [["A001", "2568", "", "90.00"]])

    report = import_scores(path)

    assert (report.new, report.updated) == (0, 1)
    assert overall_score(seed_assessment).value == Decimal("92.27")


def test_it_names_the_column_of_a_bad_wide_cell(db, seed_assessment, tmp_path):
    header = ["agency_code", "fiscal_year", "การปฏิบัติหน้าที่", "2"]
    message = refused_message(tmp_path, [["A001", "2568", "90.00", "100"], ["A001", "2567", "101", "90"]],
                              header=header)

    assert "แถวที่ 3 คอลัมน์ การปฏิบัติหน้าที่: คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ 101)" in message


def test_it_refuses_a_wide_header_that_names_no_item(db, seed_assessment, tmp_path):
    before = database_state()

    header = ["agency_code", "fiscal_year", "1", "ความพึงพอใจ"]
    message = refused_message(tmp_path, [["A001", "2568", "90.00", "1"]], header=header)

    expected = "แถวที่ 1 (หัวตาราง) คอลัมน์ ความพึงพอใจ (D): ไม่มีรายการ ความพึงพอใจ ในกรอบการประเมินปีงบประมาณ 2568"
    assert expected in message
    assert database_state() == before


def test_it_refuses_two_wide_columns_for_the_same_item(db, seed_assessment, tmp_path):
    header = ["agency_code", "fiscal_year", "1", "การปฏิบัติหน้าที่"]

    message = refused_message(tmp_path, [["A001", "2568", "90.00", "90.00"]], header=header)

    assert "แถวที่ 1 (หัวตาราง) คอลัมน์ การปฏิบัติหน้าที่ (D): เป็นรายการเดียวกับคอลัมน์ 1 (รายการ 1)" in message


def test_it_refuses_the_same_agency_twice_in_the_wide_layout(db, seed_assessment, tmp_path):
    header = ["agency_code", "fiscal_year", "overall"]

    message = refused_message(tmp_path, [["A001", "2568", "90.00"], ["A001", "2568", "91.00"]], header=header)

    assert "แถวที่ 3 คอลัมน์ overall: รายการ overall ของหน่วยงานรหัส A001 ปีงบประมาณ 2568 ซ้ำกับแถวที่ 2" in message


def test_it_reads_the_thai_headers_of_the_long_layout(db, agency_a, tmp_path):
    header = ["รหัสหน่วยงาน", "ชื่อหน่วยงาน", "ประเภท", "จังหวัด", "อำเภอ", "ปีงบประมาณ", "รายการ", "คะแนน"]

    report = import_scores(write_csv(tmp_path, [row("overall", "92.27"), row("e4:public", "98.80")], header=header))

    assert report.new == 2


def test_it_keeps_xlsx_floats_exact(db, agency_a, tmp_path):
    header = ["agency_code", "fiscal_year", "overall", "1", "2", "3"]
    path = xlsx(tmp_path, header, [["A001", 2568, 92.27, 99.35, 100.0, 0.1]])

    import_scores(path)

    assert stored(Assessment.objects.get(agency=agency_a)) == {
        "overall": Decimal("92.27"), "1": Decimal("99.35"), "2": Decimal("100.00"), "3": Decimal("0.10"),
    }


def test_it_refuses_an_xlsx_float_with_three_decimals(db, seed_assessment, tmp_path):
    path = xlsx(tmp_path, ["agency_code", "fiscal_year", "overall"], [["A001", 2568, 92.275]])

    with pytest.raises(ValidationError) as refused:
        import_scores(path)

    assert refused.value.messages == ["แถวที่ 2 คอลัมน์ overall: คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง (ได้ 92.275)"]


def test_it_numbers_rows_past_a_blank_xlsx_row(db, seed_assessment, tmp_path):
    path = xlsx(tmp_path, ["agency_code", "fiscal_year", "overall"], [["A001", 2568, 90], [], ["A001", 2568, 101]])

    with pytest.raises(ValidationError) as refused:
        import_scores(path)

    assert refused.value.messages[0].startswith("แถวที่ 4 คอลัมน์ overall:")


def test_it_stores_the_same_summary_as_a_refresh(db, agency_a, tmp_path):
    import_scores(write_csv(tmp_path, seed_rows()))
    assessment = Assessment.objects.get(agency=agency_a)
    imported = (assessment.overall, assessment.level, assessment.urgent_indicator_count)

    assessment_refresh(assessment=assessment)
    assessment.refresh_from_db()

    assert imported == (assessment.overall, assessment.level, assessment.urgent_indicator_count)
    assert imported == (Decimal("92.27"), "ผ่านดี", 0)


def test_it_records_an_import_batch(db, agency_a, tmp_path):
    path = write_csv(tmp_path, seed_rows())

    import_scores(path)

    batch = ImportBatch.objects.get()
    assert (batch.file_name, batch.status, batch.rows, batch.new) == ("scores.csv", "done", len(SEED_000), len(SEED_000))


def test_it_records_a_refused_import_with_its_problems(db, seed_assessment, tmp_path):
    with pytest.raises(ValidationError):
        import_scores(write_csv(tmp_path, [row("1", "101")]))

    batch = ImportBatch.objects.get()
    assert batch.status == "failed"
    assert batch.errors[0]["text"] == "แถวที่ 2 คอลัมน์ score: คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ 101)"


def test_it_records_no_batch_for_a_dry_run(db, seed_assessment, tmp_path):
    import_scores(write_csv(tmp_path, [row("1", "90.00")]), dry_run=True)

    assert not ImportBatch.objects.exists()


def test_it_imports_through_the_resource_as_well(db, seed_assessment):
    dataset = tablib.Dataset(row("1", "90.00"), headers=COLUMNS)

    result = ScoreResource().import_data(dataset)

    assert not result.has_errors()
    assert seed_assessment.scores.get(item__code="1").value == Decimal("90.00")
