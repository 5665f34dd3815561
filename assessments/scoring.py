"""The ITA scoring engine: pure functions over Decimal, no ORM.

The framework of a year is a tree of `Node`s: overall → tools → indicators →
(sub-indicators →) questions. Official figures, as the NACC publishes them, are
keyed by (code, part). The engine computes every figure from its parts as well,
keeps the official figure where there is one ("official figures win"), and
reports each difference over 0.01 as a warning (the rule is certain) or a note
(the figure is an estimate). Rules follow ../shared/DOMAIN.md.
"""

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

CENT = Decimal("0.01")
TOLERANCE = Decimal("0.01")
PASS_MARK = Decimal("85")
FULL_MARK = Decimal("100")

OVERALL, TOOL, INDICATOR, SUB_INDICATOR, QUESTION = "overall", "tool", "indicator", "sub_indicator", "question"
PUBLIC, SURVEY = "public", "survey"


class Triage(StrEnum):
    URGENT = "urgent"
    IMPROVE = "improve"
    MAINTAIN = "maintain"

    @property
    def label(self):
        return TRIAGE_LABELS[self]


TRIAGE_LABELS = {
    Triage.URGENT: "ข้อบกพร่องหรือจุดอ่อนที่ต้องแก้ไขโดยเร่งด่วน",
    Triage.IMPROVE: "ประเด็นที่ต้องพัฒนาให้ดีขึ้น",
    Triage.MAINTAIN: "รักษาระดับ",
}


@dataclass(frozen=True)
class Node:
    code: str
    kind: str
    name: str
    parent: str | None
    order: int = 0
    weight: Decimal | None = None
    counts_for_level: bool = True
    has_parts: bool = False


@dataclass(frozen=True)
class LevelRuleSpec:
    name: str
    rank: int
    min_overall: Decimal
    min_each_tool: Decimal | None = None
    passed: bool = True


@dataclass
class Figure:
    node: Node
    official: Decimal | None = None
    computed: Decimal | None = None
    # True when `computed` rests on an estimated rule or on an estimated input.
    estimated: bool = False

    @property
    def value(self):
        """The figure to show and to build on: the official one where published."""
        return self.official if self.official is not None else self.computed

    @property
    def display(self):
        return round2(self.value)

    @property
    def triage(self):
        return triage_of(self.value)


@dataclass(frozen=True)
class Finding:
    kind: str  # "warning" or "note"
    code: str
    label: str
    official: Decimal
    computed: Decimal
    basis: str

    @property
    def message(self):
        return f"{self.label}: คะแนนที่ประกาศ {round2(self.official)} คำนวณจาก{self.basis}ได้ {round2(self.computed)}"


@dataclass(frozen=True)
class LevelOutcome:
    name: str
    passed: bool
    # False when a rule needed tool scores that were not available.
    tools_checked: bool = True


@dataclass
class Result:
    figures: dict
    parts: dict
    findings: list = field(default_factory=list)
    level: LevelOutcome | None = None

    def figure(self, code):
        return self.figures[code]

    def of_kind(self, kind):
        return [f for f in self.figures.values() if f.node.kind == kind]

    @property
    def overall(self):
        return next(f for f in self.figures.values() if f.node.kind == OVERALL)

    @property
    def warnings(self):
        return [f for f in self.findings if f.kind == "warning"]

    @property
    def notes(self):
        return [f for f in self.findings if f.kind == "note"]


ARABIC_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
SCORE_TEXT = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
COMMA_DECIMAL = re.compile(r"[+-]?[0-9]+,[0-9]+")
SCORE_FORMS = "เช่น 92.27, 100 หรือ ๙๒.๒๗"


def score_problem(value):
    """Why a Decimal is not a valid ITA score (0–100, at most 2 decimals, as the NACC
    publishes them), or None."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return "ต้องเป็นตัวเลข"
    if value < 0 or value > 100:
        return "คะแนนต้องอยู่ระหว่าง 0 ถึง 100"
    if value.as_tuple().exponent < -2 and value != value.quantize(CENT):
        return "คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง"
    return None


def parse_score(text):
    """A score as typed (score page) or read from a file (import): Decimal to 2 places,
    None for an empty entry (no figure); ValueError with the Thai reason otherwise.

    The one parser of both paths. Accepted: digits with an optional decimal point, Arabic
    or Thai digits, spaces around (" 92.5 ", "92.50", "๙๒.๕", "100"). Refused: a decimal
    comma ("92,5": in Thai use the point), more than two decimals other than zeros
    ("92.275", not a published figure, never rounded; "92.270" is 92.27), below 0 or above
    100, NaN, infinity, exponents ("1e2") and anything else that is not plain digits."""
    if text is None:
        return None
    if isinstance(text, Decimal):
        value = text
    else:
        raw = str(text).strip()
        if not raw:
            return None
        typed = raw.translate(ARABIC_DIGITS)
        if not SCORE_TEXT.fullmatch(typed):
            if COMMA_DECIMAL.fullmatch(typed):
                raise ValueError(f"ใช้จุด (.) เป็นจุดทศนิยม ไม่ใช้จุลภาค (,) เช่น 92.5 (ได้ {raw})")
            raise ValueError(f"คะแนนต้องเป็นตัวเลข {SCORE_FORMS} (ได้ {raw})")
        if typed.startswith("-"):
            raise ValueError(f"คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ {raw})")
        try:
            value = Decimal(typed)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise ValueError(f"คะแนนต้องเป็นตัวเลข {SCORE_FORMS} (ได้ {raw})") from None
    problem = score_problem(value)
    if problem:
        raise ValueError(f"{problem} (ได้ {text})")
    return value.quantize(CENT)


def round2(value):
    """Round half-up to 2 decimals, for display only (DOMAIN: compute unrounded)."""
    if value is None:
        return None
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def mean(values):
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return sum(values, Decimal(0)) / len(values)


def triage_of(value):
    """Triage of an indicator or question, read on the 2-decimal figure users see:
    below 85 urgent, 85 up to but not including 100 improve, exactly 100 maintain."""
    if value is None:
        return None
    shown = round2(value)
    if shown < PASS_MARK:
        return Triage.URGENT
    if shown < FULL_MARK:
        return Triage.IMPROVE
    return Triage.MAINTAIN


def weighted_overall(tool_values):
    """Overall = Σ tool weight × tool score (FY2565–2568: IIT 0.30, EIT 0.30, OIT 0.40).
    `tool_values` is a list of (weight, score)."""
    return sum((weight * value for weight, value in tool_values), Decimal(0))


def level_of(overall, tool_scores, rules):
    """The level from the year's rules, tried from the highest rank down.

    FY2566 on, a rule may also require every counted tool to reach `min_each_tool`
    (ผ่านดี = overall ≥ 85 and every tool ≥ 85; a 94.64 overall with EIT 84.99 is ผ่าน).
    FY2565 and earlier (AA–F) read the overall score only. Scores are compared at
    two decimals, as published. Missing tool scores cannot block a rule; the
    outcome then says the tools were not checked."""
    if overall is None or not rules:
        return None
    shown_overall = round2(overall)
    tools_missing = any(score is None for score in tool_scores)
    for rule in sorted(rules, key=lambda r: r.rank, reverse=True):
        if shown_overall < rule.min_overall:
            continue
        if (
            rule.min_each_tool is not None
            and not tools_missing
            and any(round2(score) < rule.min_each_tool for score in tool_scores)
        ):
            continue
        needed_tools = rule.min_each_tool is not None
        return LevelOutcome(rule.name, rule.passed, tools_checked=not (needed_tools and tools_missing))
    return None


_BASIS = {
    OVERALL: "คะแนนรายเครื่องมือตามน้ำหนัก",
    TOOL: "ค่าเฉลี่ยตัวชี้วัด",
    SUB_INDICATOR: "ค่าเฉลี่ยรายการ",
    QUESTION: "ค่าเฉลี่ย EITPublic และ EITSurvey",
}


def node_label(node):
    if node.kind == INDICATOR:
        return f"ตัวชี้วัดที่ {node.code}"
    if node.kind == SUB_INDICATOR:
        return f"ตัวชี้วัดย่อยที่ {node.code}"
    if node.kind == OVERALL:
        return "คะแนนรวม"
    return node.code


def compute(nodes, official, rules=()):
    """Compute every figure of one assessment.

    - question with EIT parts: mean of EITPublic and EITSurvey (estimate: the NACC's
      combination is unpublished; 50/50 matches indicators 7–8 of seed 000, not 6);
    - sub-indicator (e.g. 9.2): mean of its items (estimate: items carry different
      numbers of criteria);
    - indicator: mean of its questions (IIT i1–i3 → 1) or of its sub-indicators
      (indicator 9 = mean of 9.1–9.5, indicator 10 = mean of 10.1–10.2);
    - tool: mean of its indicators; overall: weighted sum of the tools.
    A figure is computed only when every part it rests on has a value.
    `official` maps (code, part) → Decimal, part "" for the whole figure."""
    children = {}
    for node in nodes:
        children.setdefault(node.parent, []).append(node)
    for group in children.values():
        group.sort(key=lambda n: n.order)

    figures = {}
    findings = []
    parts = {key: value for key, value in official.items() if key[1]}

    def visit(node):
        kids = [visit(child) for child in children.get(node.code, [])]
        figure = Figure(node, official=official.get((node.code, "")))
        if node.kind == QUESTION:
            if node.has_parts:
                public, survey = parts.get((node.code, PUBLIC)), parts.get((node.code, SURVEY))
                if public is not None and survey is not None:
                    figure.computed = mean([public, survey])
                    figure.estimated = True
        elif kids and all(k.value is not None for k in kids):
            inputs_estimated = any(k.official is None and k.estimated for k in kids)
            if node.kind == OVERALL:
                weighted = [(k.node.weight or Decimal(0), k.value) for k in kids]
                figure.computed = weighted_overall(weighted)
            else:
                figure.computed = mean(k.value for k in kids)
            figure.estimated = inputs_estimated or node.kind == SUB_INDICATOR
        figures[node.code] = figure
        if (
            figure.official is not None
            and figure.computed is not None
            and abs(figure.official - figure.computed) > TOLERANCE
        ):
            findings.append(
                Finding(
                    kind="note" if figure.estimated else "warning",
                    code=node.code,
                    label=node_label(node),
                    official=figure.official,
                    computed=figure.computed,
                    basis=_indicator_basis(node, kids) if node.kind == INDICATOR else _BASIS[node.kind],
                )
            )
        return figure

    for root in children.get(None, []):
        visit(root)

    result = Result(figures=figures, parts=parts, findings=findings)
    overall = next((f for f in figures.values() if f.node.kind == OVERALL), None)
    if overall is not None:
        tools = [f.value for f in figures.values() if f.node.kind == TOOL and f.node.counts_for_level]
        result.level = level_of(overall.value, tools, rules)
    return result


@dataclass(frozen=True)
class Summary:
    """What an assessment stores of its computed result: the overall figure (unrounded), the
    level and the number of indicators below 85 (urgent)."""

    overall: Decimal | None
    level: LevelOutcome | None
    urgent_indicator_count: int


class SummaryTree:
    """A framework prepared once for `summary` of many assessments (the import's thousands).

    `summary(official, rules)` gives, by the rules of `compute` and with the same functions
    (mean, weighted_overall, level_of, triage_of), its result's overall value, level and urgent
    indicator count, without building the figures and findings a page needs: each node's value
    is its official figure, or else the one computed from its parts when every part has one."""

    def __init__(self, nodes):
        children = {}
        for node in nodes:
            children.setdefault(node.parent, []).append(node)
        for group in children.values():
            group.sort(key=lambda n: n.order)
        # Parts before the figure built on them, in compute's order: (node, part codes, weights).
        self.steps = []

        def walk(node):
            kids = children.get(node.code, [])
            for kid in kids:
                walk(kid)
            weights = tuple(kid.weight or Decimal(0) for kid in kids)
            self.steps.append((node, tuple(kid.code for kid in kids), weights))

        for root in children.get(None, []):
            walk(root)
        self.overall = next((node.code for node, _, _ in self.steps if node.kind == OVERALL), None)
        self.tools = [node.code for node, _, _ in self.steps if node.kind == TOOL and node.counts_for_level]
        self.indicators = [node.code for node, _, _ in self.steps if node.kind == INDICATOR]

    def summary(self, official, rules=()):
        values = {}
        for node, kids, weights in self.steps:
            code = node.code
            value = official.get((code, ""))
            if value is None:
                if node.kind == QUESTION:
                    if node.has_parts:
                        public, survey = official.get((code, PUBLIC)), official.get((code, SURVEY))
                        if public is not None and survey is not None:
                            value = mean([public, survey])
                elif kids:
                    parts = [values[kid] for kid in kids]
                    if all(part is not None for part in parts):
                        value = (
                            weighted_overall(list(zip(weights, parts, strict=True))) if node.kind == OVERALL
                            else mean(parts)
                        )
            values[code] = value
        overall = values[self.overall] if self.overall is not None else None
        level = level_of(overall, [values[code] for code in self.tools], rules) if self.overall is not None else None
        urgent = sum(1 for code in self.indicators if triage_of(values[code]) == Triage.URGENT)
        return Summary(overall, level, urgent)


def _indicator_basis(node, kids):
    if kids and kids[0].node.kind == SUB_INDICATOR:
        return "ค่าเฉลี่ยตัวชี้วัดย่อย"
    return "ค่าเฉลี่ยข้อคำถาม"


@dataclass(frozen=True)
class Blame:
    """A published figure that the arithmetic points at: replacing it by the value computed
    from its parts (`computed`) clears the certain warnings listed in `explains`."""

    code: str
    label: str
    official: Decimal
    computed: Decimal
    explains: tuple  # codes of the warnings this figure accounts for

    @property
    def message(self):
        return (
            f"{self.label}: คะแนนที่ประกาศ {round2(self.official)} ไม่สอดคล้องกับองค์ประกอบ "
            f"ซึ่งคำนวณได้ {round2(self.computed)}"
        )


def _blame_candidates(result):
    """Published figures involved in a certain warning: the warned figure first, then those of
    its parts that are themselves computed by a certain rule (never an estimate)."""
    seen = []
    for warning in result.warnings:
        if warning.code not in seen:
            seen.append(warning.code)
    for warning in result.warnings:
        for figure in result.figures.values():
            if (
                figure.node.parent == warning.code
                and figure.official is not None
                and figure.computed is not None
                and not figure.estimated
                and figure.node.code not in seen
            ):
                seen.append(figure.node.code)
    return seen


def blame_figures(nodes, official, result=None, rules=()):
    """The published figures that break the arithmetic, as code → Blame.

    A typo in one published figure raises a warning on it and on every figure built on it:
    a tool printed wrong gives "tool ≠ mean of indicators" and "overall ≠ weighted tools",
    although the overall equals the weighted tools as computed. So each published figure
    involved in a warning is replaced, one at a time, by its computed value and the warnings
    are computed again: a figure whose replacement clears every warning and raises none is
    blamed alone. Failing that, a figure whose replacement clears every original warning
    (raising one elsewhere: the figures built on it agree with the printed value, so the
    slip may lie in its parts) is named. Otherwise each warned figure is named for its own
    warning. Only certain warnings count; notes (estimates) never blame a figure."""
    result = result or compute(nodes, official, rules)
    warnings = result.warnings
    if not warnings:
        return {}
    warned = {w.code for w in warnings}
    lenient = None
    for code in _blame_candidates(result):
        figure = result.figures[code]
        trial = dict(official)
        trial[(code, "")] = figure.computed
        after = {w.code for w in compute(nodes, trial).warnings}
        blame = Blame(code, node_label(figure.node), figure.official, figure.computed, tuple(sorted(warned)))
        if not after:
            return {code: blame}
        if lenient is None and not (after & warned):
            lenient = blame
    if lenient is not None:
        return {lenient.code: lenient}
    return {
        w.code: Blame(w.code, w.label, w.official, w.computed, (w.code,)) for w in warnings
    }


def blame_of_result(result):
    """`blame_figures` for an already computed assessment: its nodes and published figures
    are read back from the result, so documents need no second query."""
    nodes = [f.node for f in result.figures.values()]
    official = {(code, ""): f.official for code, f in result.figures.items() if f.official is not None}
    official.update(result.parts)
    return blame_figures(nodes, official, result)


PART_LABELS = {PUBLIC: "EITPublic", SURVEY: "EITSurvey"}


def lowest_part(figure, parts):
    """The lowest published part of a question or item, as (part, value): an EIT question
    is published as EITPublic and EITSurvey, and the weaker of the two is what needs work
    (e3: EITPublic 100.00, EITSurvey 79.09, mean 89.55 → ("survey", 79.09)); any other item
    is its own part ("", value). Falls back to the computed figure when nothing is published;
    (None, None) when there is no figure at all."""
    code = figure.node.code
    candidates = [(part, parts[(code, part)]) for part in (PUBLIC, SURVEY) if parts.get((code, part)) is not None]
    if figure.official is not None:
        candidates.append(("", figure.official))
    if not candidates:
        return ("", figure.value) if figure.value is not None else (None, None)
    return min(candidates, key=lambda pair: pair[1])
