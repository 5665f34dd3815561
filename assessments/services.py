from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from simple_history.models import HistoricalRecords

from assessments import scoring
from assessments.models import Assessment, FrameworkItem, Score, compute_assessment, record_score_changes
from assessments.scoring import score_problem  # noqa: F401 (the one rule; imported from here too)


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


STALE_EDIT_MESSAGE = "ข้อมูลนี้ถูกแก้ไขโดยผู้อื่นหลังจากที่ท่านเปิดหน้านี้ กรุณาเปิดหน้าใหม่แล้วแก้ไขอีกครั้ง"


class EditConflict(ValidationError):
    """A save from a copy older than the stored record: refused so that nothing is overwritten silently."""

    def __init__(self, message=STALE_EDIT_MESSAGE):
        super().__init__(message, code="stale")


def version_claim(model, pk, expected_version=None):
    """Bump the record's `version`, only if it is still `expected_version` (optimistic locking).

    One conditional UPDATE: it also locks the row until the caller's transaction ends, so
    two saves from the same copy cannot both pass. With `expected_version` None the version
    is bumped unconditionally (the caller has no loaded copy to compare). Returns the new
    version; raises EditConflict when the record changed after the copy was loaded."""
    rows = model.objects.filter(pk=pk)
    if expected_version is not None:
        rows = rows.filter(version=expected_version)
    if not rows.update(version=F("version") + 1):
        raise EditConflict()
    return model.objects.filter(pk=pk).values_list("version", flat=True).get()


@transaction.atomic
def assessment_save_scores(*, assessment, values, expected_version=None, user=None):
    """Replace the official figures of one assessment.

    `values` maps (item_code, part) → Decimal or None (None deletes the figure).
    Every value is validated first; nothing is written if any is invalid.
    `expected_version` is the assessment's version when the page was loaded: if someone
    saved since, the save is refused with EditConflict (no lost updates). Every created,
    changed or deleted Score leaves a history row with its old and new value, attributed to
    `user` (or, without it, to the request's user)."""
    items = {i.code: i for i in FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year_id)}
    errors = []
    for (code, _part), value in values.items():
        if code not in items:
            errors.append(f"ไม่มีรายการ {code} ในกรอบการประเมินปี {assessment.fiscal_year.year}")
        elif value is not None:
            problem = score_problem(value)
            if problem:
                errors.append(f"{code}: {problem}")
    if errors:
        raise ValidationError(errors)
    # Claimed before any write and in the same transaction: a refused save writes nothing.
    assessment.version = version_claim(Assessment, assessment.pk, expected_version)
    existing = {(s.item.code, s.part): s for s in assessment.scores.select_related("item")}
    changes = []  # (score, old value, history type) for record_score_changes
    for (code, part), value in values.items():
        current = existing.get((code, part))
        if value is None:
            if current is not None:
                # simple-history writes the deletion's row (its value is the value deleted).
                author = _author(user)
                if author is not None and author.is_authenticated:
                    current._history_user = author
                current.delete()
        elif current is None:
            score = Score(assessment=assessment, item=items[code], part=part, value=value)
            score.skip_history_when_saving = True
            score.save()
            changes.append((score, None, "+"))
        elif current.value != value:
            old = current.value
            current.value = value
            current.skip_history_when_saving = True
            current.save(update_fields=["value"])
            changes.append((current, old, "~"))
    record_score_changes(changes, user=_author(user))
    from plans.prerender import documents_enqueue_after_commit  # plans depends on assessments

    documents_enqueue_after_commit(assessment_ids=[assessment.pk])
    return assessment_refresh(assessment=assessment)


def _author(user):
    """`user`, or without one the request's user (simple-history's HistoryRequestMiddleware)."""
    if user is not None and user.is_authenticated:
        return user
    request = getattr(HistoricalRecords.context, "request", None)
    return getattr(request, "user", None)
