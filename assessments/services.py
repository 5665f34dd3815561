from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from assessments import scoring
from assessments.models import Assessment, FrameworkItem, Score, compute_assessment


def assessment_refresh(*, assessment, result=None):
    """Store the derived summary (overall, level, urgent count) used by lists and filters."""
    if result is None:
        result = compute_assessment(assessment)
    overall = result.overall.value if result.figures else None
    urgent = sum(1 for f in result.of_kind(scoring.INDICATOR) if f.triage == scoring.Triage.URGENT)
    Assessment.objects.filter(pk=assessment.pk).update(
        overall=overall.quantize(Decimal("0.0001")) if overall is not None else None,
        level=result.level.name if result.level else "",
        urgent_indicator_count=urgent,
    )
    assessment.overall = overall
    assessment.level = result.level.name if result.level else ""
    assessment.urgent_indicator_count = urgent
    return result


@transaction.atomic
def assessment_save_scores(*, assessment, values):
    """Replace the official figures of one assessment.

    `values` maps (item_code, part) → Decimal or None (None deletes the figure).
    Every value is validated first; nothing is written if any is invalid."""
    items = {i.code: i for i in FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year_id)}
    errors = []
    for (code, part), value in values.items():
        if code not in items:
            errors.append(f"ไม่มีรายการ {code} ในกรอบการประเมินปี {assessment.fiscal_year.year}")
        elif value is not None:
            problem = score_problem(value)
            if problem:
                errors.append(f"{code}: {problem}")
    if errors:
        raise ValidationError(errors)
    existing = {(s.item.code, s.part): s for s in assessment.scores.select_related("item")}
    for (code, part), value in values.items():
        current = existing.get((code, part))
        if value is None:
            if current is not None:
                current.delete()
        elif current is None:
            Score.objects.create(assessment=assessment, item=items[code], part=part, value=value)
        elif current.value != value:
            current.value = value
            current.save(update_fields=["value"])
    return assessment_refresh(assessment=assessment)


def score_problem(value):
    """Why a value is not a valid ITA score (0–100, at most 2 decimals), or None."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return "ต้องเป็นตัวเลข"
    if value < 0 or value > 100:
        return "คะแนนต้องอยู่ระหว่าง 0 ถึง 100"
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        return "คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง"
    return None
