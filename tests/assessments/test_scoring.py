"""The scoring engine against the golden figures of DOMAIN.md and seed 000."""

from decimal import Decimal

import pytest

from assessments import scoring
from assessments.models import compute_assessment, framework_nodes, level_rule_specs
from assessments.scoring import LevelRuleSpec, Triage, level_of, round2, triage_of
from tests.seed_figures import SEED_000, SEED_000_IIT_QUESTIONS, SEED_000_INDICATORS

D = Decimal

NEW_SCHEME = [
    LevelRuleSpec("ผ่านดีเยี่ยม", 5, D("95"), D("95")),
    LevelRuleSpec("ผ่านดี", 4, D("85"), D("85")),
    LevelRuleSpec("ผ่าน", 3, D("85"), None),
    LevelRuleSpec("ต้องปรับปรุง", 2, D("70"), None, passed=False),
    LevelRuleSpec("ต้องปรับปรุงโดยด่วน", 1, D("0"), None, passed=False),
]
OLD_SCHEME = [
    LevelRuleSpec(name, rank, D(minimum), None, passed=name in ("AA", "A"))
    for name, rank, minimum in [
        ("AA", 7, "95"), ("A", 6, "85"), ("B", 5, "75"), ("C", 4, "65"), ("D", 3, "55"), ("E", 2, "50"), ("F", 1, "0"),
    ]
]


def official(figures):
    return {key: D(value) for key, value in figures.items()}


@pytest.fixture
def fy2568_framework(db):
    from assessments.models import FiscalYear

    return framework_nodes(FiscalYear.objects.get(year=2568).pk)


@pytest.fixture
def fy2568_rules(db):
    from assessments.models import FiscalYear

    return level_rule_specs(FiscalYear.objects.get(year=2568).pk)


def test_it_reproduces_iit_indicators_from_question_scores(fy2568_framework):
    result = scoring.compute(fy2568_framework, official(SEED_000_IIT_QUESTIONS))
    computed = [round2(result.figure(str(n)).computed) for n in range(1, 6)]
    assert computed == [D("99.35"), D("100.00"), D("100.00"), D("96.13"), D("97.42")]


def test_it_reproduces_tools_overall_and_level_from_published_indicators(fy2568_framework, fy2568_rules):
    result = scoring.compute(fy2568_framework, official(SEED_000_INDICATORS), fy2568_rules)
    tools = {code: round2(result.figure(code).computed) for code in ("IIT", "EIT", "OIT")}
    assert tools == {"IIT": D("98.58"), "EIT": D("93.15"), "OIT": D("86.88")}
    assert round2(result.overall.computed) == D("92.27")
    assert result.level.name == "ผ่านดี"
    assert result.level.passed is True


def test_it_computes_overall_from_unrounded_tools(fy2568_framework):
    # 0.3 × 98.58 + 0.3 × 93.1466… + 0.4 × 86.875 = 92.268; rounding tools first would give 92.271.
    result = scoring.compute(fy2568_framework, official(SEED_000_INDICATORS))
    assert result.overall.computed.quantize(D("0.0001")) == D("92.2680")


def test_it_warns_when_published_indicator_9_differs_from_its_sub_indicators(fy2568_framework, fy2568_rules):
    result = scoring.compute(fy2568_framework, official(SEED_000), fy2568_rules)
    assert [(w.code, round2(w.official), round2(w.computed)) for w in result.warnings] == [
        ("9", D("88.75"), D("90.00"))
    ]
    assert result.warnings[0].message == "ตัวชี้วัดที่ 9: คะแนนที่ประกาศ 88.75 คำนวณจากค่าเฉลี่ยตัวชี้วัดย่อยได้ 90.00"


def test_it_notes_estimates_for_oit_items_and_eit_parts(fy2568_framework):
    result = scoring.compute(fy2568_framework, official(SEED_000))
    notes = {n.code: (round2(n.official), round2(n.computed)) for n in result.notes}
    assert notes["9.2"] == (D("87.50"), D("92.86"))
    assert notes["6"] == (D("95.56"), D("92.07"))
    assert "9" not in notes


def test_it_keeps_official_figures_over_computed_ones(fy2568_framework):
    result = scoring.compute(fy2568_framework, official(SEED_000))
    assert result.figure("9").value == D("88.75")
    assert result.figure("9.2").value == D("87.50")


def test_it_does_not_report_differences_within_a_hundredth(fy2568_framework):
    figures = dict(SEED_000_INDICATORS)
    figures[("OIT", "")] = "86.88"  # computed 86.875
    result = scoring.compute(fy2568_framework, official(figures))
    assert result.findings == []


def test_it_reports_a_tool_that_differs_from_its_indicators(fy2568_framework):
    figures = dict(SEED_000_INDICATORS)
    figures[("OIT", "")] = "98.78"
    result = scoring.compute(fy2568_framework, official(figures))
    assert [w.message for w in result.warnings] == ["OIT: คะแนนที่ประกาศ 98.78 คำนวณจากค่าเฉลี่ยตัวชี้วัดได้ 86.88"]


def test_it_leaves_a_figure_uncomputed_when_a_part_is_missing(fy2568_framework):
    figures = dict(SEED_000_IIT_QUESTIONS)
    del figures[("i2", "")]
    result = scoring.compute(fy2568_framework, official(figures))
    assert result.figure("1").computed is None
    assert result.figure("2").computed is not None


def test_it_computes_eit_question_as_mean_of_its_parts(fy2568_framework):
    result = scoring.compute(fy2568_framework, official({("e4", "public"): "98.80", ("e4", "survey"): "79.09"}))
    assert round2(result.figure("e4").computed) == D("88.95")
    assert result.figure("e4").estimated is True


@pytest.mark.parametrize(
    "score, band",
    [("84.99", Triage.URGENT), ("85.00", Triage.IMPROVE), ("99.99", Triage.IMPROVE), ("100.00", Triage.MAINTAIN)],
)
def test_it_triages_at_the_band_edges(score, band):
    assert triage_of(D(score)) is band


def test_it_labels_triage_in_thai():
    assert Triage.URGENT.label == "ข้อบกพร่องหรือจุดอ่อนที่ต้องแก้ไขโดยเร่งด่วน"
    assert Triage.IMPROVE.label == "ประเด็นที่ต้องพัฒนาให้ดีขึ้น"


def test_it_rounds_half_up_for_display():
    assert round2(D("86.875")) == D("86.88")
    assert round2(D("92.265")) == D("92.27")


@pytest.mark.parametrize(
    "overall, tools, level",
    [
        ("94.64", ["98.00", "84.99", "99.00"], "ผ่าน"),
        ("96.00", ["94.99", "97.00", "97.00"], "ผ่านดี"),
        ("95.00", ["95.00", "95.00", "95.00"], "ผ่านดีเยี่ยม"),
        ("85.00", ["85.00", "85.00", "85.00"], "ผ่านดี"),
        ("84.99", ["90.00", "90.00", "80.00"], "ต้องปรับปรุง"),
        ("70.00", ["70.00", "70.00", "70.00"], "ต้องปรับปรุง"),
        ("69.99", ["70.00", "70.00", "70.00"], "ต้องปรับปรุงโดยด่วน"),
    ],
)
def test_it_applies_the_per_tool_level_rule(overall, tools, level):
    assert level_of(D(overall), [D(t) for t in tools], NEW_SCHEME).name == level


@pytest.mark.parametrize(
    "overall, level",
    [("95.00", "AA"), ("94.99", "A"), ("85.00", "A"), ("84.99", "B"), ("75.00", "B"), ("65.00", "C"),
     ("64.99", "D"), ("55.00", "D"), ("50.00", "E"), ("49.99", "F"), ("0.00", "F")],
)
def test_it_applies_the_letter_scheme_on_the_overall_score_only(overall, level):
    assert level_of(D(overall), [D("10"), D("10"), D("10")], OLD_SCHEME).name == level


def test_it_says_when_tool_scores_were_not_available_for_the_level():
    outcome = level_of(D("85.42"), [None, None, None], NEW_SCHEME)
    assert outcome.name == "ผ่านดี"
    assert outcome.tools_checked is False


def test_it_loads_both_level_schemes_from_reference_data(db):
    from assessments.models import FiscalYear

    assert level_of(D("94.64"), [D("98"), D("84.99"), D("99")], level_rule_specs(FiscalYear.objects.get(year=2566).pk)).name == "ผ่าน"
    assert level_of(D("87.57"), [], level_rule_specs(FiscalYear.objects.get(year=2565).pk)).name == "A"


def test_it_scores_a_stored_assessment(seed_assessment):
    result = compute_assessment(seed_assessment)
    assert round2(result.overall.value) == D("92.27")
    assert seed_assessment.level == "ผ่านดี"


def _tool_typo():
    """Seed 000's indicators and overall, with the published tools; IIT printed 89.58 for 98.58."""
    figures = dict(SEED_000_INDICATORS)
    figures[("overall", "")] = "92.27"
    figures.update({("IIT", ""): "89.58", ("EIT", ""): "93.15", ("OIT", ""): "86.88"})
    return official(figures)


def test_it_blames_a_mistyped_tool_score_alone(fy2568_framework):
    figures = _tool_typo()
    result = scoring.compute(fy2568_framework, figures)
    assert {w.code for w in result.warnings} == {"IIT", "overall"}
    blamed = scoring.blame_figures(fy2568_framework, figures, result)
    assert list(blamed) == ["IIT"]
    assert blamed["IIT"].official == D("89.58")
    assert round2(blamed["IIT"].computed) == D("98.58")
    assert set(blamed["IIT"].explains) == {"IIT", "overall"}


def test_it_blames_indicator_9_of_seed_000_and_not_the_overall(fy2568_framework):
    figures = official(SEED_000)
    blamed = scoring.blame_figures(fy2568_framework, figures)
    assert list(blamed) == ["9"]
    assert blamed["9"].official == D("88.75")
    assert round2(blamed["9"].computed) == D("90.00")


def test_it_blames_nothing_when_the_figures_agree(fy2568_framework):
    assert scoring.blame_figures(fy2568_framework, official(SEED_000_INDICATORS)) == {}
