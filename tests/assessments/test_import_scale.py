"""What keeps a national import fast: a bounded number of queries, chunked bulk writes that stay
all or nothing, no write at all for an unchanged file, and a summary computed in Python.
The national timings themselves are measured by scripts/bench_import.py."""

import csv
import io
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assessments import resources, scoring
from assessments.models import (
    Agency,
    Assessment,
    FiscalYear,
    ImportBatch,
    Score,
    framework_nodes,
    level_rule_specs,
)
from assessments.resources import (
    assessment_summary,
    import_scores,
    score_import_plan,
    summary_fields,
    summary_nodes,
    summary_tree,
)
from tests.seed_figures import SEED_000

HEADER = ["agency_code", "agency_name", "agency_type", "province", "district", "fiscal_year", "item", "score"]
INDICATORS = ["overall", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]


def national_csv(agencies, value="90.00", last=None):
    """`agencies` synthetic agencies × overall and indicators 1–10, as bytes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for n in range(agencies):
        for code in INDICATORS:
            writer.writerow([f"GEN{n:05d}", f"อบต.ทดสอบ{n}", "อบต.", "ขอนแก่น", "เมือง", 2568, code, value])
    if last:
        writer.writerow(last)
    return buffer.getvalue().encode()


def queries(fn):
    with CaptureQueriesContext(connection) as captured:
        fn()
    return [q["sql"] for q in captured.captured_queries]


def history_writes(sql):
    return [q for q in sql if q.startswith(('INSERT INTO "assessments_historicalscore"',
                                            'COPY "assessments_historicalscore"'))]


def test_it_imports_more_agencies_in_the_same_number_of_queries(db):
    few = queries(lambda: import_scores(national_csv(3)))
    Agency.objects.filter(code__startswith="GEN").delete()

    many = queries(lambda: import_scores(national_csv(20)))

    # 33 and 220 new scores: one INSERT each on SQLite (249 scores a statement), one COPY on
    # PostgreSQL, and their historical rows in one statement more.
    assert len(few) == len(many)
    assert len(history_writes(many)) == 1


def test_it_has_the_database_write_the_added_scores_history_rows_on_sqlite(db):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's path; PostgreSQL COPYs both (next test)")
    sql = queries(lambda: import_scores(national_csv(20)))

    (statement,) = history_writes(sql)
    # Copied from the score rows by the database: Python sends no value of the 220 rows.
    copy = statement.split('INSERT INTO "assessments_historicalscore"')[1]
    assert "VALUES" not in copy and "90.00" not in copy and "SELECT" in copy
    assert Score.history.filter(history_type="+").count() == 220


def test_it_copies_the_scores_and_their_history_rows_on_postgresql(db):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's path")
    sql = queries(lambda: import_scores(national_csv(20)))

    # No multi-row INSERT of 220 scores or agencies: a COPY each for the agencies, the
    # assessments, the scores and their historical rows, after drawing their ids.
    copies = [q.split(" (")[0] for q in sql if q.startswith("COPY")]
    assert copies == ['COPY "assessments_agency"', 'COPY "assessments_assessment"', 'COPY "assessments_score"',
                      'COPY "assessments_historicalscore"']
    assert not [q for q in sql if q.startswith(('INSERT INTO "assessments_score"', 'INSERT INTO "assessments_agency"'))]
    batch = ImportBatch.objects.get()
    history = Score.history.filter(history_type="+", import_batch=batch, old_value=None, history_user=None)
    assert set(history.values_list("id", "assessment_id", "item_id", "part", "value")) == set(
        Score.objects.values_list("id", "assessment_id", "item_id", "part", "value")
    )
    assert history.count() == 220
    assert set(Agency.objects.filter(code__startswith="GEN").values_list("name", "province")) == {
        (f"อบต.ทดสอบ{n}", "ขอนแก่น") for n in range(20)
    }


def test_it_checks_a_file_in_a_constant_number_of_queries(db):
    import_scores(national_csv(3))
    few = len(queries(lambda: score_import_plan(national_csv(3), compare=True)))

    many = len(queries(lambda: score_import_plan(national_csv(40), compare=True)))

    assert many == few <= 8


def test_it_writes_nothing_for_an_unchanged_file(db):
    import_scores(national_csv(5))

    sql = queries(lambda: import_scores(national_csv(5)))

    writes = [q for q in sql if q.startswith(("INSERT", "UPDATE", "DELETE"))]
    # Only the batch: saved before the write (score history rows point to it), then finished.
    assert [q.split("(")[0].split(" SET ")[0] for q in writes] == [
        'INSERT INTO "assessments_importbatch" ', 'UPDATE "assessments_importbatch"'
    ]


def test_it_imports_across_chunks(db, monkeypatch):
    monkeypatch.setattr(resources, "CHUNK", 4)

    report = import_scores(national_csv(10))

    assert (report.new, report.agencies_created, report.assessments_created) == (110, 10, 10)
    assert Assessment.objects.filter(agency__code__startswith="GEN", overall=Decimal("90.00")).count() == 10


def test_it_updates_across_chunks(db, monkeypatch):
    monkeypatch.setattr(resources, "CHUNK", 4)
    import_scores(national_csv(10))

    report = import_scores(national_csv(10, value="80.00"))

    assert (report.new, report.updated, report.unchanged) == (0, 110, 0)
    assert set(Assessment.objects.values_list("overall", "urgent_indicator_count")) == {(Decimal("80.00"), 10)}


def test_it_writes_nothing_when_the_last_row_of_a_chunked_file_is_bad(db, monkeypatch):
    monkeypatch.setattr(resources, "CHUNK", 4)
    bad = ["GEN00009", "อบต.ทดสอบ9", "อบต.", "ขอนแก่น", "เมือง", 2568, "9.1", "99.999"]

    with pytest.raises(ValidationError) as refused:
        import_scores(national_csv(10, last=bad))

    assert refused.value.messages == ["แถวที่ 112 คอลัมน์ score: คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง (ได้ 99.999)"]
    assert not Agency.objects.exists()
    assert not Score.objects.exists()


def test_it_writes_one_history_row_per_new_score_in_bulk(db):
    import_scores(national_csv(2))

    # Bulk writes bypass simple-history's signals: the import writes the rows itself.
    batch = ImportBatch.objects.get()
    assert batch.new == 22
    assert Score.history.filter(import_batch=batch, history_type="+", old_value=None).count() == 22
    assert set(Score.history.values_list("id", "value")) == set(Score.objects.values_list("id", "value"))


def test_it_reports_progress_while_checking(db, monkeypatch):
    monkeypatch.setattr(resources, "PROGRESS_EVERY", 10)
    seen = []

    score_import_plan(national_csv(3), progress=seen.append)

    assert seen == [10, 20, 30]


@pytest.mark.parametrize(
    "figures",
    [
        SEED_000,
        {key: value for key, value in SEED_000.items() if key[0].isdigit() or key[0] == "overall"},
        {key: value for key, value in SEED_000.items() if not key[0][0].isdigit() and key[0] != "overall"},
        {key: value for key, value in SEED_000.items() if key[0] not in ("10", "1", "overall")},
        {("9", ""): "40.00", ("9.1", ""): "100.00"},
    ],
    ids=["seed 000", "indicators", "questions only", "some indicators missing", "partial"],
)
def test_it_computes_the_same_summary_from_the_pruned_framework(fy2568, figures):
    nodes, rules = framework_nodes(fy2568.pk), level_rule_specs(fy2568.pk)
    official = {key: Decimal(value) for key, value in figures.items()}

    pruned = summary_nodes(nodes, official, {})

    full = assessment_summary(scoring.compute(nodes, official, rules))
    assert assessment_summary(scoring.compute(pruned, official, rules)) == full
    assert summary_fields(summary_tree(nodes, official, {}).summary(official, rules)) == full


@pytest.mark.parametrize("year", [2568, 2565])
def test_it_summarises_as_the_full_computation_does_for_any_set_of_figures(db, year):
    fiscal_year = FiscalYear.objects.get(year=year)
    nodes, rules = framework_nodes(fiscal_year.pk), level_rule_specs(fiscal_year.pk)
    keys = [(node.code, "") for node in nodes] + [
        (node.code, part) for node in nodes if node.has_parts for part in (scoring.PUBLIC, scoring.SURVEY)
    ]
    values = [Decimal(v) for v in ("0.00", "49.99", "70.00", "84.99", "84.995", "85.00", "94.99", "95.00", "100.00")]
    rng = random.Random(year)
    trees, levels = {}, set()
    for _ in range(400):
        share = rng.choice([0.1, 0.5, 0.9, 1.0])
        official = {key: rng.choice(values) for key in keys if rng.random() < share}
        full = assessment_summary(scoring.compute(nodes, official, rules))

        assert summary_fields(summary_tree(nodes, official, trees).summary(official, rules)) == full, official
        levels.add(full["level"])
    # The figures reached the levels, passing and not, and the case of no level at all.
    assert len(levels) >= 4 and "" in levels


def test_it_stores_an_agency_name_with_a_backslash_a_tab_and_a_line_break_as_written(db):
    name = 'อบต.ทดสอบ \\N\\t "บ้าน\tใหม่"\nหมู่ 2\\'
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([
        HEADER, ["GEN00001", name, "อบต.", "ขอนแก่น\\", "เมือง\t", 2568, "overall", "90.00"],
    ])

    import_scores(buffer.getvalue().encode())

    agency = Agency.objects.get(code="GEN00001")
    assert (agency.name, agency.province, agency.district) == (name, "ขอนแก่น\\", "เมือง")


def test_it_names_every_row_of_an_agency_whose_cells_are_refused_not_only_the_first(db):
    rows = [
        ["GEN00001", "อบต.ทดสอบ1", "อบต.", "ขอนแก่น", "เมือง", 2568, "overall", "90.00"],
        ["GEN00002", "=HYPERLINK(1)", "อบต.", "ขอนแก่น", "เมือง", 2568, "overall", "90.00"],
        ["GEN00002", "=HYPERLINK(1)", "อบต.", "ขอนแก่น", "เมือง", 2568, "1", "90.00"],
        ["GEN00001", "อบต.ทดสอบ1", "อบต.", "ขอนแก่น", "เมือง", 2499, "1", "90.00"],
        ["GEN00001", "อบต.ทดสอบ1", "อบต.", "ขอนแก่น", "เมือง", 2568, "1", "90.00"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([HEADER, *rows])

    plan = score_import_plan(buffer.getvalue().encode())

    assert [problem.row for problem in plan.problems] == [3, 4, 5]
    assert [problem.column for problem in plan.problems] == ["agency_name", "agency_name", "fiscal_year"]
    assert list(plan.figures) == [("GEN00001", 2568)]
    assert len(plan.figures["GEN00001", 2568]) == 2


def test_it_refuses_a_write_that_meets_assessments_created_meanwhile_and_writes_nothing(db, monkeypatch):
    import_scores(national_csv(2))
    # As if another import created the assessments after this one looked them up: the write
    # inserts them (COPY on PostgreSQL) and the database refuses the duplicates.
    monkeypatch.setattr(resources, "_find_assessments", lambda plan: setattr(plan, "assessment_ids", {}))

    with pytest.raises(ValidationError) as refused:
        import_scores(national_csv(2, value="80.00"))

    assert refused.value.messages == [
        "บันทึกไม่สำเร็จ: มีการบันทึกข้อมูลหน่วยงานหรือผลการประเมินเดียวกันพร้อมกัน กรุณานำเข้าใหม่อีกครั้ง"
    ]
    assert set(Score.objects.values_list("value", flat=True)) == {Decimal("90.00")}
    assert Score.history.count() == 22
    assert ImportBatch.objects.latest("pk").status == ImportBatch.Status.FAILED
