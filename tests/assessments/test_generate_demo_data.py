from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Avg

from assessments import scoring
from assessments.management.commands import generate_demo_data as gen
from assessments.models import Agency, Assessment, Score, compute_assessment


def generate(*args):
    out = StringIO()
    call_command("generate_demo_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def small(db):
    return generate("--agencies", "50", "--years", "2567-2568", "--seed", "3")


def test_it_creates_the_requested_agencies_and_assessments(small):
    assert Agency.objects.filter(code__startswith="GEN").count() == 50
    assert Assessment.objects.filter(agency__code__startswith="GEN").count() == 100
    # Ten indicators and the overall score per assessment.
    assert Score.objects.filter(assessment__agency__code__startswith="GEN").count() == 100 * 11


def test_it_numbers_codes_from_gen00001(small):
    codes = sorted(Agency.objects.filter(code__startswith="GEN").values_list("code", flat=True))
    assert codes[0] == "GEN00001"
    assert codes[-1] == "GEN00050"


def test_it_reports_what_it_did_in_thai(small):
    assert "สร้างหน่วยงาน 50 หน่วยงาน" in small
    assert "ปีงบประมาณ 2568: ผลการประเมิน 50 หน่วยงาน" in small


def test_it_keeps_every_score_between_0_and_100_with_two_decimals(small):
    values = list(Score.objects.filter(assessment__agency__code__startswith="GEN").values_list("value", flat=True))
    assert all(Decimal(0) <= v <= Decimal(100) for v in values)
    assert all(v == v.quantize(Decimal("0.01")) for v in values)


def test_it_spreads_scores_around_the_national_average_of_the_year(small):
    average = Assessment.objects.filter(fiscal_year__year=2568, agency__code__startswith="GEN").aggregate(
        a=Avg("overall")
    )["a"]
    assert abs(Decimal(average) - Decimal("93.82")) < 1
    overall = Score.objects.filter(item__code="overall", assessment__fiscal_year__year=2567)
    assert overall.filter(value__gte=85).count() > overall.filter(value__lt=85).count()


def test_it_stores_derived_fields_equal_to_compute_assessment(small):
    for assessment in Assessment.objects.filter(agency__code__startswith="GEN").order_by("pk")[::17]:
        result = compute_assessment(assessment)
        assert assessment.overall == result.overall.value.quantize(Decimal("0.0001"))
        assert assessment.level == result.level.name
        urgent = sum(1 for f in result.of_kind(scoring.INDICATOR) if f.triage == scoring.Triage.URGENT)
        assert assessment.urgent_indicator_count == urgent
        assert result.warnings == []


def test_it_refuses_to_run_twice_without_replace(small):
    with pytest.raises(CommandError, match="--replace"):
        generate("--agencies", "5", "--years", "2568")
    assert Agency.objects.filter(code__startswith="GEN").count() == 50


def test_it_replaces_its_own_agencies_only(small, agency_a):
    out = generate("--agencies", "5", "--years", "2568", "--replace")
    assert "ลบหน่วยงานตัวอย่างเดิม 50 หน่วยงาน" in out
    assert Agency.objects.filter(code__startswith="GEN").count() == 5
    assert Assessment.objects.filter(agency__code__startswith="GEN").count() == 5
    assert Agency.objects.filter(code="A001").exists()


def test_it_is_repeatable_with_the_same_seed(db):
    generate("--agencies", "5", "--years", "2568", "--seed", "7")
    first = list(Score.objects.order_by("assessment__agency__code", "item__code").values_list("value", flat=True))
    generate("--agencies", "5", "--years", "2568", "--seed", "7", "--replace")
    again = list(Score.objects.order_by("assessment__agency__code", "item__code").values_list("value", flat=True))
    assert first == again


def test_it_writes_question_scores_whose_means_give_the_indicators(db):
    generate("--agencies", "8", "--years", "2568", "--questions")
    assessment = Assessment.objects.filter(agency__code__startswith="GEN").order_by("pk").first()
    values = {(s.item.code, s.part): s.value for s in assessment.scores.select_related("item")}
    iit_1 = scoring.mean([values[("i1", "")], values[("i2", "")], values[("i3", "")]])
    assert values[("1", "")] == scoring.round2(iit_1)
    assert ("e1", "public") in values and ("e1", "survey") in values
    assert values[("9", "")] == scoring.round2(scoring.mean([values[(f"9.{n}", "")] for n in range(1, 6)]))
    assert compute_assessment(assessment).warnings == []


def test_it_scales_agency_types_to_the_national_proportions():
    counts = gen.scaled_counts(8317, gen.TYPE_COUNTS)
    assert counts[Agency.Type.SAO] == 5300
    assert counts[Agency.Type.PAO] == 76
    assert sum(gen.scaled_counts(50, gen.TYPE_COUNTS).values()) == 50


def test_it_knows_the_77_provinces():
    names = [name for name, _ in gen.PROVINCES]
    assert len(names) == len(set(names)) == 77


def test_it_refuses_years_without_a_framework(db):
    with pytest.raises(CommandError, match="2570"):
        generate("--agencies", "5", "--years", "2569-2570")
