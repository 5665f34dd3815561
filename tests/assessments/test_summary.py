"""The assessment_summary contract and the reference data."""

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from assessments.models import Assessment, FiscalYear, FrameworkItem, LevelRule


def summary(capsys, *args):
    call_command("assessment_summary", *args)
    return json.loads(capsys.readouterr().out)


def test_it_prints_the_seed_000_summary(seed_assessment, capsys):
    data = summary(capsys, "A001", "2568")
    assert data["fiscal_year"] == 2568
    assert (data["overall"], data["level"], data["passed"]) == ("92.27", "ผ่านดี", True)
    assert data["tools"] == {"IIT": "98.58", "EIT": "93.15", "OIT": "86.88"}
    assert data["computed"]["overall"] == "92.27"
    assert data["indicators"][0] == {
        "number": "1", "name": "การปฏิบัติหน้าที่", "tool": "IIT", "score": "99.35", "official": "99.35",
        "computed": "99.35", "triage": "improve",
    }
    assert {"code": "i1", "score": "98.06", "triage": "improve"} in data["questions"]
    assert data["warnings"] == ["ตัวชี้วัดที่ 9: คะแนนที่ประกาศ 88.75 คำนวณจากค่าเฉลี่ยตัวชี้วัดย่อยได้ 90.00"]
    assert len(data["notes"]) == 4


def test_it_shows_the_official_overall_where_one_was_published(agency_b, capsys):
    from tests.conftest import make_assessment

    figures = {(str(n), ""): "90.00" for n in range(1, 11)}
    figures[("overall", "")] = "91.00"
    make_assessment(agency_b, 2568, figures)
    data = summary(capsys, "B001", "2568")
    assert (data["overall"], data["computed"]["overall"]) == ("91.00", "90.00")
    assert data["warnings"] == ["คะแนนรวม: คะแนนที่ประกาศ 91.00 คำนวณจากคะแนนรายเครื่องมือตามน้ำหนักได้ 90.00"]


def test_it_fails_clearly_for_an_unknown_assessment(db):
    with pytest.raises(CommandError, match="ไม่พบผลการประเมินของหน่วยงานรหัส NOPE ปีงบประมาณ 2568"):
        call_command("assessment_summary", "NOPE", "2568")


def test_it_migrates_every_framework_year_and_level_scheme(db):
    assert list(FiscalYear.objects.order_by("year").values_list("year", flat=True)) == list(range(2563, 2569))
    fy2568 = FrameworkItem.objects.filter(fiscal_year__year=2568)
    assert fy2568.filter(kind="question").count() == 52
    assert fy2568.filter(kind="indicator").count() == 10
    assert set(fy2568.filter(kind="tool").values_list("code", "weight")) == {
        ("IIT", Decimal("0.3000")),
        ("EIT", Decimal("0.3000")),
        ("OIT", Decimal("0.4000")),
    }
    for year in range(2563, 2569):
        assert FrameworkItem.objects.filter(fiscal_year__year=year, kind="indicator").count() == 10
    assert list(LevelRule.objects.filter(fiscal_year__year=2565).values_list("name", flat=True)) == [
        "AA", "A", "B", "C", "D", "E", "F"]


def test_it_loads_the_demo_and_library_fixtures_against_the_current_schema(db):
    call_command("loaddata", "fixtures/demo.json", "fixtures/measure_library.json", verbosity=0)
    assessment = Assessment.objects.get(agency__code="POLSONGKHRAM", fiscal_year__year=2568)
    assert assessment.scores.count() == 79
