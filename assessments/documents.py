"""The analysis report (การวิเคราะห์ผลการประเมิน ITA): context, generated paragraphs, PDF."""

from decimal import Decimal

from assessments import charts, scoring
from assessments.models import AnalysisText, Assessment, compute_assessment
from ita_portal import thai
from ita_portal.pdf import render_pdf


def _label(figure):
    node = figure.node
    if node.kind == scoring.INDICATOR:
        return f"ตัวชี้วัดที่ {thai.thai_digits(node.code)} {node.name}"
    if node.kind == scoring.SUB_INDICATOR:
        return f"ตัวชี้วัดย่อยที่ {thai.thai_digits(node.code)} {node.name}"
    return f"{thai.thai_digits(node.code)} {node.name}"


def figure_notes(result):
    """Short notes to print beside published figures that break the arithmetic
    (scoring.blame_figures): code → {"mark", "text"}, numbered in framework order.
    Documents still print the published figure; the note says what its parts give."""
    blamed = scoring.blame_of_result(result)
    notes = {}
    for number, code in enumerate(c for c in result.figures if c in blamed):
        blame = blamed[code]
        label = blame.label
        if not label.startswith("คะแนน"):
            label = f"คะแนน {label}" if label[:1].isascii() else f"คะแนน{label}"
        notes[code] = {
            "mark": thai.thai_digits(number + 1),
            "label": thai.thai_digits(label),
            "explains": blame.explains,
            "text": thai.thai_digits(
                f"{label} ที่ประกาศ {thai.format_score(blame.official)} คะแนน ไม่สอดคล้องกับองค์ประกอบ "
                f"ซึ่งคำนวณได้ {thai.format_score(blame.computed)} คะแนน เอกสารนี้ใช้คะแนนที่สำนักงาน ป.ป.ช. ประกาศ"
            ),
        }
    return notes


def noted(text, notes, code):
    """A printed figure with the marker of its note, "๘๙.๕๘ [๑]", when it has one."""
    note = notes.get(code)
    return f"{text} [{note['mark']}]" if note and text else text


def _children(result, code):
    return sorted((f for f in result.figures.values() if f.node.parent == code), key=lambda f: f.node.order)


def _library_weakness(library, indicator_code, band):
    entries = [e for e in library if e.indicator_number == indicator_code and not e.question_code]
    chosen = next((e for e in entries if e.band == band), None) or next((e for e in entries if not e.band), None)
    return chosen


def generated_analysis(agency, result, indicator, library_entry=None):
    """A paragraph built only from the figures and the measure library: the score and its
    band, the highest and lowest question, the questions below 85, and the weakness the
    library records for the indicator."""
    score = thai.format_score(indicator.value)
    band = indicator.triage
    parts = [f"{agency.name} ได้คะแนน{_label(indicator)} {score} คะแนน อยู่ในกลุ่ม “{band.label}”"]
    leaves = []
    for child in _children(result, indicator.node.code):
        leaves += _children(result, child.node.code) if child.node.kind == scoring.SUB_INDICATOR else [child]
    scored = [q for q in leaves if q.value is not None]
    if len(scored) > 1:
        high = max(scored, key=lambda q: q.value)
        low = min(scored, key=lambda q: q.value)
        if high.value != low.value:
            parts.append(
                f"ข้อที่ได้คะแนนสูงสุดคือ {thai.thai_digits(high.node.code)} ({thai.format_score(high.value)} คะแนน) "
                f"และต่ำสุดคือ {thai.thai_digits(low.node.code)} ({thai.format_score(low.value)} คะแนน)"
            )
    weak = [q for q in scored if q.triage == scoring.Triage.URGENT]
    weak_parts = [
        q for q in leaves if q.node.has_parts and q not in weak
        and any(scoring.triage_of(result.parts.get((q.node.code, p))) == scoring.Triage.URGENT
                for p in (scoring.PUBLIC, scoring.SURVEY))
    ]
    if weak:
        names = ", ".join(f"{thai.thai_digits(q.node.code)} {q.node.name}" for q in weak)
        parts.append(f"ข้อที่ต่ำกว่า ๘๕ คะแนนและต้องแก้ไขโดยเร่งด่วน ได้แก่ {names}")
    if weak_parts:
        codes = ", ".join(q.node.code for q in weak_parts)
        parts.append(f"คะแนนส่วน EITSurvey หรือ EITPublic ของข้อ {codes} ต่ำกว่า ๘๕ คะแนน ควรพิจารณาเป็นพิเศษ")
    text = " ".join(parts)
    if library_entry is not None and library_entry.weakness:
        prefix = "แนวทางที่ควรดำเนินการต่อ" if band == scoring.Triage.MAINTAIN else "ประเด็นที่ควรพัฒนา"
        text += f" {prefix}: {library_entry.weakness}"
    return text


def analysis_context(assessment):
    agency = assessment.agency
    digits = agency.table_digits
    result = compute_assessment(assessment)
    tools = result.of_kind(scoring.TOOL)
    indicators = result.of_kind(scoring.INDICATOR)
    history = list(
        Assessment.objects.filter(agency=agency, fiscal_year__year__lte=assessment.fiscal_year.year)
        .select_related("fiscal_year")
        .order_by("fiscal_year__year")
    )
    tool_history = {}
    for past in history:
        past_result = result if past.pk == assessment.pk else compute_assessment(past)
        tool_history[past.fiscal_year.year] = {f.node.code: f.value for f in past_result.of_kind(scoring.TOOL)}
    years = [a.fiscal_year.year for a in history]
    year_labels = [thai.thai_digits(y) for y in years]
    tool_codes = [f.node.code for f in tools]
    edited = {
        t.item.code: t.text
        for t in AnalysisText.objects.filter(assessment=assessment).select_related("item")
    }
    from plans.models import MeasureTemplate

    library = list(MeasureTemplate.objects.filter(question_code=""))
    sections = []
    for indicator in indicators:
        children = _children(result, indicator.node.code)
        groups = []
        if children and children[0].node.kind == scoring.SUB_INDICATOR:
            for sub in children:
                groups.append({"head": sub, "label": _label(sub), "rows": _question_rows(result, _children(result, sub.node.code))})
        else:
            groups.append({"head": None, "label": "", "rows": _question_rows(result, children)})
        library_entry = _library_weakness(library, indicator.node.code, indicator.triage.value if indicator.triage else "")
        generated = generated_analysis(agency, result, indicator, library_entry) if indicator.value is not None else ""
        sections.append(
            {
                "figure": indicator,
                "label": _label(indicator),
                "groups": groups,
                "has_parts": any(r["public"] is not None for g in groups for r in g["rows"]),
                "analysis": edited.get(indicator.node.code) or generated,
                "edited": indicator.node.code in edited,
            }
        )
    ranked = sorted((f for f in indicators if f.value is not None), key=lambda f: -f.value)
    notes = figure_notes(result)
    for section in sections:
        section["note"] = notes.get(section["figure"].node.code)
        for group in section["groups"]:
            group["note"] = notes.get(group["head"].node.code) if group["head"] else None
    return {
        "assessment": assessment,
        "agency": agency,
        "year": assessment.fiscal_year.year,
        "digits": digits,
        "result": result,
        "overall": result.overall,
        "level": result.level,
        "tools": [{"figure": f, "label": f"{f.node.code} {f.node.name}", "note": notes.get(f.node.code)} for f in tools],
        "indicator_rows": [
            {"figure": f, "label": _label(f), "tool": f.node.parent, "triage": f.triage, "note": notes.get(f.node.code)}
            for f in indicators
        ],
        "ranked": ranked,
        "ranked_rows": [{"figure": f, "note": notes.get(f.node.code)} for f in ranked],
        "figure_notes": notes,
        "overall_note": notes.get(result.overall.node.code),
        "annex_warnings": _annex_warnings(result.warnings, notes),
        "highest": ranked[0] if ranked else None,
        "lowest": ranked[-1] if ranked else None,
        "sections": sections,
        "warnings": result.warnings,
        "notes": result.notes,
        "chart_overall": charts.bar_chart(
            ["คะแนนรวม", *tool_codes],
            [charts.Series("ปี " + thai.thai_digits(assessment.fiscal_year.year), [result.overall.value, *[f.value for f in tools]])],
            title=f"ผลการประเมินในภาพรวมและรายเครื่องมือ ปีงบประมาณ พ.ศ. {thai.thai_digits(assessment.fiscal_year.year)}",
            digits="thai",
        ),
        "chart_history": charts.line_chart(
            year_labels,
            [charts.Series("คะแนนรวม", [a.overall for a in history])],
            title="ผลการประเมินในภาพรวมย้อนหลัง",
            lowest=_floor([a.overall for a in history]),
        ),
        "chart_tool_history": charts.bar_chart(
            ["ปี " + label for label in year_labels],
            [charts.Series(code, [tool_history[y].get(code) for y in years]) for code in tool_codes],
            title="ผลการประเมินรายเครื่องมือ ปีนี้และปีที่ผ่านมา",
        ),
        "chart_indicators": charts.bar_chart(
            [thai.thai_digits(f.node.code) for f in indicators],
            [charts.Series("คะแนน", [f.value for f in indicators])],
            title="คะแนนรายตัวชี้วัด",
            height=260,
        ),
    }


def _annex_warnings(warnings, notes):
    """Each certain warning, and which published figure accounts for it when that is another one."""
    rows = []
    for warning in warnings:
        cause = next((n for code, n in notes.items() if warning.code in n["explains"] and code != warning.code), None)
        rows.append({"message": warning.message, "cause": cause, "note": notes.get(warning.code)})
    return rows


def _floor(values):
    """The line charts start at a round number below the lowest score, so differences show."""
    present = [Decimal(v) for v in values if v is not None]
    if not present:
        return Decimal(50)
    return min(Decimal(50), (min(present) // 10) * 10)


def _question_rows(result, figures):
    rows = []
    for q in figures:
        public = result.parts.get((q.node.code, scoring.PUBLIC))
        survey = result.parts.get((q.node.code, scoring.SURVEY))
        rows.append({"figure": q, "code": q.node.code, "name": q.node.name, "public": public, "survey": survey,
                     "triage": q.triage})
    return rows


def render_analysis(assessment):
    return render_pdf("reports/analysis.html", analysis_context(assessment), cache_seconds=300)
