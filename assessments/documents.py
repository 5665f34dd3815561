"""The analysis report (การวิเคราะห์ผลการประเมิน ITA): context, generated paragraphs, PDF."""

from decimal import Decimal

from assessments import analysis_text, charts, comparison, scoring
from assessments.models import AnalysisText, Assessment, compute_assessment, phrases_for
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


PART_LABELS = (("EITPublic", scoring.PUBLIC), ("EITSurvey", scoring.SURVEY))


def _phrase(phrases, code):
    phrase = phrases.get(code)
    if phrase is None:
        return analysis_text.NO_PHRASE
    return analysis_text.Phrase(strength=phrase.strength, finding=phrase.finding, advice=phrase.advice)


def _item(result, figure, phrases):
    parts = tuple((label, result.parts.get((figure.node.code, part))) for label, part in PART_LABELS) if figure.node.has_parts else ()
    return analysis_text.Item(figure.node.code, figure.node.name, figure.value, _phrase(phrases, figure.node.code), parts)


def _leaves(result, code):
    leaves = []
    for child in _children(result, code):
        leaves += _children(result, child.node.code) if child.node.kind == scoring.SUB_INDICATOR else [child]
    return leaves


def _standing(value, comparison, previous, previous_year, province_name):
    """Last year's figure and the year's averages, each only where it means something: a province
    average only when other agencies of the province have the figure too, likewise the nation."""
    if value is None:
        return analysis_text.NO_STANDING
    province = national = None
    if comparison is not None:
        if province_name and comparison.province_count > 1:
            province = comparison.province
        if comparison.national_count > 1:
            national = comparison.national
    return analysis_text.Standing(
        previous=previous, previous_year=previous_year if previous is not None else None,
        province=province, province_name=province_name, national=national,
    )


def generated_analysis(agency, result, indicator, phrases, standing=analysis_text.NO_STANDING):
    """The paragraph of one indicator, written by analysis_text's rules from the figures and the
    year's phrases (AnalysisPhrase)."""
    code = indicator.node.code
    subs = [c for c in _children(result, code) if c.node.kind == scoring.SUB_INDICATOR]
    return analysis_text.indicator_paragraph(
        agency=agency.name,
        label=_label(indicator),
        value=indicator.value,
        phrase=_phrase(phrases, code),
        items=[_item(result, q, phrases) for q in _leaves(result, code)],
        subs=[_item(result, s, phrases) for s in subs],
        standing=standing,
    )


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
    previous = previous_result = None
    for past in history:
        past_result = result if past.pk == assessment.pk else compute_assessment(past)
        tool_history[past.fiscal_year.year] = {f.node.code: f.value for f in past_result.of_kind(scoring.TOOL)}
        if past.fiscal_year.year < assessment.fiscal_year.year:
            previous, previous_result = past, past_result
    years = [a.fiscal_year.year for a in history]
    year_labels = [thai.thai_digits(y) for y in years]
    tool_codes = [f.node.code for f in tools]
    edited = {
        t.item.code: t.text
        for t in AnalysisText.objects.filter(assessment=assessment).select_related("item")
    }
    phrases = phrases_for(assessment.fiscal_year)
    previous_year = previous.fiscal_year.year if previous is not None else None

    def previous_value(code):
        figure = previous_result.figures.get(code) if previous_result is not None else None
        return figure.value if figure is not None else None

    frame = comparison.year_frame(assessment.fiscal_year)
    compared = {
        c.code: c
        for c in comparison.indicator_comparisons(agency, frame, {f.node.code: f.value for f in indicators})
    } if any(f.value is not None for f in indicators) else {}
    scored_indicators = [f for f in indicators if f.value is not None]
    sections = []
    for indicator in scored_indicators:
        code = indicator.node.code
        children = _children(result, code)
        groups = []
        if children and children[0].node.kind == scoring.SUB_INDICATOR:
            for sub in children:
                rows = _question_rows(result, _children(result, sub.node.code))
                groups.append({"head": sub, "label": _label(sub), "rows": rows})
        else:
            groups.append({"head": None, "label": "", "rows": _question_rows(result, children)})
        # Only what has a figure is printed: no table of empty question rows, no "-" cells.
        groups = [g for g in groups if g["rows"]]
        standing = _standing(indicator.value, compared.get(code), previous_value(code), previous_year, agency.province)
        generated = generated_analysis(agency, result, indicator, phrases, standing)
        sections.append(
            {
                "figure": indicator,
                "label": _label(indicator),
                "groups": groups,
                "has_parts": any(r["public"] is not None or r["survey"] is not None for g in groups for r in g["rows"]),
                "has_estimates": any(r["estimated"] for g in groups for r in g["rows"]),
                "analysis": edited.get(code) or generated,
                "generated": generated,
                "edited": code in edited,
            }
        )
    ranked = sorted(scored_indicators, key=lambda f: -f.value)
    notes = figure_notes(result)
    for section in sections:
        section["note"] = notes.get(section["figure"].node.code)
        for group in section["groups"]:
            group["note"] = notes.get(group["head"].node.code) if group["head"] else None
    has_tools = any(f.value is not None for f in tools)
    has_questions = any(f.value is not None for f in result.of_kind(scoring.QUESTION))
    missing = analysis_text.missing_words(
        has_tools=has_tools, has_indicators=bool(scored_indicators), has_questions=has_questions
    )
    overall_standing = _standing(
        result.overall.value, comparison.overall_comparison(assessment) if assessment.overall is not None else None,
        previous_value(result.overall.node.code), previous_year, agency.province,
    )
    overall_text = analysis_text.overall_paragraph(
        agency=agency.name,
        value=result.overall.value,
        standing=overall_standing,
        indicators=[_item(result, f, {}) for f in scored_indicators],
        missing=missing,
    )
    # Section numbers follow the sections actually printed.
    present = ["overall", *(["indicators", "ranking"] if scored_indicators else []), *(["analysis"] if sections else [])]
    numbers = {name: thai.thai_digits(n) for n, name in enumerate(present, start=1)}
    return {
        "assessment": assessment,
        "agency": agency,
        "year": assessment.fiscal_year.year,
        "digits": digits,
        "result": result,
        "overall": result.overall,
        "level": result.level,
        "overall_text": overall_text,
        "missing": missing,
        "numbers": numbers,
        "has_tools": has_tools,
        "has_history": len([a for a in history if a.overall is not None]) > 1,
        "has_tool_history": has_tools and len(years) > 1,
        "tools": [{"figure": f, "label": f"{f.node.code} {f.node.name}", "note": notes.get(f.node.code)} for f in tools],
        "indicator_rows": [
            {"figure": f, "label": _label(f), "tool": f.node.parent, "triage": f.triage, "note": notes.get(f.node.code)}
            for f in scored_indicators
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
            ["คะแนนรวม", *(tool_codes if has_tools else [])],
            [charts.Series("ปี " + thai.thai_digits(assessment.fiscal_year.year),
                           [result.overall.value, *([f.value for f in tools] if has_tools else [])])],
            title=f"ผลการประเมินในภาพรวม{'และรายเครื่องมือ' if has_tools else ''} ปีงบประมาณ พ.ศ. {thai.thai_digits(assessment.fiscal_year.year)}",
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
            [thai.thai_digits(f.node.code) for f in scored_indicators],
            [charts.Series("คะแนน", [f.value for f in scored_indicators])],
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
    """Rows of the questions that have a figure (official, or computed from EIT parts)."""
    rows = []
    for q in figures:
        if q.value is None:
            continue
        public = result.parts.get((q.node.code, scoring.PUBLIC))
        survey = result.parts.get((q.node.code, scoring.SURVEY))
        rows.append({"figure": q, "code": q.node.code, "name": q.node.name, "public": public, "survey": survey,
                     "triage": q.triage, "estimated": q.official is None and q.computed is not None})
    return rows


def render_analysis(assessment):
    return render_pdf("reports/analysis.html", analysis_context(assessment), cache_seconds=300)
