"""The measures plan (แนวทางและมาตรการในการยกระดับผลการประเมิน ITA): background, the
assessed year's result, the triage of every indicator and the measures table.

The context is built here, in Python, with every queryset turned into a list, so the
template runs no query; the number of queries does not grow with the number of measures."""

from django.db.models import Prefetch

from assessments import scoring
from assessments.documents import figure_notes, noted
from assessments.models import FrameworkItem, compute_assessment
from ita_portal import thai
from ita_portal.pdf import render_pdf
from plans import figures
from plans.models import AgencyUnit, Band, Plan

TEMPLATE = "reports/measures_plan.html"
DEFAULT_TITLE = "แนวทางและมาตรการในการยกระดับผลการประเมิน ITA"
BAND_ORDER = (Band.URGENT, Band.IMPROVE, Band.MAINTAIN)
UNSCORED_LABEL = "ยังไม่มีคะแนน"


def _band_criteria(digits):
    """The score range of each band, from the triage thresholds of assessments.scoring."""
    low, full = _digits(int(scoring.PASS_MARK), digits), _digits(int(scoring.FULL_MARK), digits)
    return {
        Band.URGENT: f"คะแนนต่ำกว่า {low}",
        Band.IMPROVE: f"คะแนนตั้งแต่ {low} แต่ไม่ถึง {full}",
        Band.MAINTAIN: f"คะแนนเต็ม {full}",
    }


def _digits(text, digits):
    return thai.thai_digits(text) if digits == "thai" else str(text)


def _percent(weight, digits):
    if weight is None:
        return ""
    value = (weight * 100).normalize()
    return _digits(format(value, "f"), digits)


def _title_lines(title):
    """The title with its fiscal-year part on a line of its own, so that a long title
    breaks where a person would break it rather than inside a word."""
    head, sep, tail = title.partition(" ประจำปีงบประมาณ")
    if sep and head.strip():
        return [head.strip(), (sep + tail).strip()]
    return [title]


def _paragraphs(text):
    """Paragraphs of a free-text field: split on blank lines; single line breaks stay."""
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def _background(agency, assessed_year, target_year, overall, level, counts):
    """Generated ที่มาและความสำคัญ when the plan has none; every figure from the data."""
    year, target = thai.thai_digits(assessed_year), thai.thai_digits(target_year)
    result_clause = "ผลการประเมินยังไม่มีคะแนนรวม"
    if overall is not None:
        result_clause = f"ผลการประเมินได้คะแนนรวม {thai.format_score(overall)} คะแนน"
        if level:
            result_clause += f" อยู่ในระดับ “{level}”"
    first = (
        "สำนักงานคณะกรรมการป้องกันและปราบปรามการทุจริตแห่งชาติ (สำนักงาน ป.ป.ช.) "
        "ประเมินคุณธรรมและความโปร่งใสในการดำเนินงานของหน่วยงานภาครัฐ (Integrity and Transparency "
        "Assessment: ITA) เป็นประจำทุกปีงบประมาณ เพื่อให้หน่วยงานภาครัฐทราบสถานะด้านคุณธรรมและความโปร่งใส"
        f"ของตนเอง และนำผลไปปรับปรุงการบริหารงานให้เป็นไปตามหลักธรรมาภิบาล {agency} "
        f"เข้ารับการประเมินประจำปีงบประมาณ พ.ศ. {year} {result_clause}"
    )
    urgent, improve = counts.get(Band.URGENT, 0), counts.get(Band.IMPROVE, 0)
    pass_mark = thai.thai_digits(int(scoring.PASS_MARK))
    if urgent:
        finding = (
            f"มีตัวชี้วัดที่ได้คะแนนต่ำกว่าเกณฑ์ {pass_mark} คะแนน จำนวน {thai.thai_digits(urgent)} ตัวชี้วัด "
            "ซึ่งต้องแก้ไขโดยเร่งด่วน"
        )
        if improve:
            finding += f" และมีตัวชี้วัดที่ผ่านเกณฑ์แต่ยังไม่ได้คะแนนเต็มอีก {thai.thai_digits(improve)} ตัวชี้วัด"
    elif improve:
        every = "ทุกตัวชี้วัดที่มีคะแนน" if counts.get(Band.UNSCORED) else "ทุกตัวชี้วัด"
        finding = f"{every}ผ่านเกณฑ์ {pass_mark} คะแนน แต่มี {thai.thai_digits(improve)} ตัวชี้วัดที่ยังไม่ได้คะแนนเต็ม"
    elif counts.get(Band.MAINTAIN):
        finding = "ทุกตัวชี้วัดที่มีคะแนนได้คะแนนเต็ม" if counts.get(Band.UNSCORED) else "ทุกตัวชี้วัดได้คะแนนเต็ม"
    else:
        finding = ""
    if counts.get(Band.UNSCORED):
        unknown = f"ไม่มีคะแนนที่ประกาศของ {thai.thai_digits(counts[Band.UNSCORED])} ตัวชี้วัด จึงจัดทำเป็นแผนขับเคลื่อนที่มีมาตรการครอบคลุมตัวชี้วัดเหล่านั้น"
        finding = f"{finding} และ{unknown}" if finding else unknown
    second = (
        f"เมื่อพิจารณาเป็นรายตัวชี้วัด {finding} {agency} จึงได้วิเคราะห์ผลการประเมินเป็นรายตัวชี้วัด"
        "และรายข้อคำถาม จัดลำดับประเด็นที่ต้องแก้ไข ประเด็นที่ต้องพัฒนา และประเด็นที่ต้องรักษาระดับ "
        "แล้วกำหนดมาตรการ โครงการ หรือกิจกรรม พร้อมผู้รับผิดชอบ ระยะเวลา และวิธีการกำกับติดตาม "
        f"เพื่อดำเนินการในปีงบประมาณ พ.ศ. {target} ดังรายละเอียดต่อไปนี้"
    )
    return [first, second]


def _measures(plan):
    """The plan's measures with indicator, questions and units in three queries."""
    return list(
        plan.measures.select_related("indicator")
        .prefetch_related(
            Prefetch("questions", queryset=FrameworkItem.objects.order_by("order", "code")),
            Prefetch("units", queryset=AgencyUnit.objects.order_by("order", "name")),
        )
        .order_by("indicator__order", "order", "pk")
    )


def measures_plan_context(plan):
    agency = plan.agency
    assessment = plan.assessment
    assessed_year = assessment.fiscal_year.year
    digits = agency.table_digits if agency.table_digits in ("thai", "arabic") else "thai"
    result = compute_assessment(assessment)

    notes = figure_notes(result)
    overall_figures = result.of_kind(scoring.OVERALL)
    # The official overall where the NACC published one, else the weighted tools.
    overall = overall_figures[0].value if overall_figures else None
    level = result.level.name if result.level else ""

    tools = [
        {
            "code": f.node.code,
            "name": f.node.name,
            "weight": _percent(f.node.weight, digits),
            "score": noted(thai.format_score(f.value, digits), notes, f.node.code),
        }
        for f in sorted(result.of_kind(scoring.TOOL), key=lambda f: f.node.order)
    ]

    indicator_figures = sorted(result.of_kind(scoring.INDICATOR), key=lambda f: f.node.order)
    criteria = _band_criteria(digits)
    grouped = {band: [] for band in BAND_ORDER}
    unscored = []
    for figure in indicator_figures:
        row = {
            "number": _digits(figure.node.code, digits),
            "name": figure.node.name,
            "tool": figure.node.parent or "",
            "score": noted(thai.format_score(figure.value, digits), notes, figure.node.code),
        }
        if figure.triage is None:
            unscored.append(row)
        else:
            grouped[Band(figure.triage.value)].append(row)
    # Urgent questions, OIT items and sub-indicators by their lowest published part: an
    # agency whose ten indicators all pass may still have items at 50 and EITSurvey parts below 85.
    from plans.services import urgent_items

    urgent = [
        {
            "code": _digits(item.node.code, digits),
            "name": item.node.name,
            "indicator": _digits(item.indicator, digits),
            "part": item.part_label,
            "score": thai.format_score(item.part_value, digits),
        }
        for item in urgent_items(result)
    ]
    triage = [
        {
            "band": band.value,
            "label": band.label,
            "criterion": criteria[band],
            "rows": grouped[band],
            "items": urgent if band == Band.URGENT else [],
        }
        for band in BAND_ORDER
    ]
    counts = {band: len(rows) for band, rows in grouped.items()}
    counts[Band.UNSCORED] = len(unscored)

    groups = []
    estimated = False
    for measure in _measures(plan):
        indicator = measure.indicator
        if not groups or groups[-1]["code"] != indicator.code:
            figure = result.figures.get(indicator.code)
            # Only the indicator's own figure: a question measure's stored score is the question's.
            value = figure.value if figure is not None else None
            band = Band(figure.triage.value) if figure is not None and figure.triage else None
            groups.append(
                {
                    "code": indicator.code,
                    "label": _digits(f"ตัวชี้วัดที่ {indicator.code} {indicator.name}", digits),
                    "number": _digits(indicator.code, digits),
                    "score": noted(figures.indicator_score_text(value, digits), notes, indicator.code),
                    "band": band.label if band else (Band.UNSCORED.label if value is None else ""),
                    "rows": [],
                }
            )
        questions = []
        for question in measure.questions.all():
            text, is_estimate = figures.question_text(result, question.code, digits)
            questions.append(text)
            estimated = estimated or is_estimate
        groups[-1]["rows"].append(
            {
                "band": measure.get_band_display(),
                "weakness": measure.weakness,
                "questions": ", ".join(questions),
                "title": measure.title,
                "analysis": measure.analysis,
                "steps": measure.steps,
                "period": measure.period_display(digits),
                "units": measure.units_display(list(measure.units.all())),
                "deadline": thai.thai_date(measure.deadline, digits) if measure.deadline else "",
                "monitoring": measure.monitoring,
            }
        )

    title = plan.title.strip() or DEFAULT_TITLE
    fiscal_year_label = thai.format_fiscal_year(plan.target_year)
    background = _paragraphs(plan.background) if plan.background.strip() else None
    return {
        "title": title,
        "title_lines": _title_lines(title),
        "show_fiscal_year": fiscal_year_label not in title
        and thai.format_fiscal_year(plan.target_year, "arabic") not in title,
        "fiscal_year_label": fiscal_year_label,
        "agency_name": agency.name,
        "revision_label": thai.thai_digits(plan.revision_label) if plan.revision > 1 else "",
        "is_draft": plan.status not in (Plan.Status.APPROVED, Plan.Status.SIGNED),
        "assessed_year": thai.thai_digits(assessed_year),
        "target_year": thai.thai_digits(plan.target_year),
        "background": background
        or _background(agency.name, assessed_year, plan.target_year, overall, level, counts),
        "overall": noted(thai.format_score(overall), notes, overall_figures[0].node.code if overall_figures else ""),
        "overall_table": noted(thai.format_score(overall, digits), notes, overall_figures[0].node.code if overall_figures else ""),
        "figure_notes": list(notes.values()),
        "level": level,
        "tools": tools,
        "triage": triage,
        "unscored": unscored,
        "unscored_label": UNSCORED_LABEL,
        "driving_note": _driving_note(plan, digits),
        "groups": groups,
        "estimate_note": figures.ESTIMATE_NOTE if estimated else "",
    }


def _driving_note(plan, digits):
    """The driving plan's statement of which indicators had no published score."""
    if not plan.is_driving_plan:
        return ""
    return thai.thai_digits(
        f"แผนนี้เป็นแผนขับเคลื่อน เพราะผลการประเมินที่ประกาศไม่มีคะแนนของ{plan.unscored_indicators_display} "
        "จึงกำหนดมาตรการสำหรับทุกตัวชี้วัดที่ไม่ทราบคะแนน โดยจัดทำจากคลังมาตรการ"
    )


def render_measures_plan(plan):
    """PDF bytes of the plan's measures document."""
    return render_pdf(TEMPLATE, measures_plan_context(plan), cache_seconds=300)
