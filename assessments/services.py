from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, DecimalField, F, Q, Sum
from simple_history.models import HistoricalRecords

from assessments import scoring
from assessments.models import (
    Agency,
    AggregateScore,
    Assessment,
    FiscalYear,
    FrameworkItem,
    LevelRule,
    Score,
    compute_assessment,
    framework_nodes,
    level_rule_specs,
    record_score_changes,
)
from assessments.scoring import score_problem  # noqa: F401 (the one rule; imported from here too)


def summary_fields(result):
    """The derived fields an assessment stores from its computed result: overall to 4 places,
    the level's name, the number of indicators below 85 (urgent)."""
    overall = result.overall.value if result.figures else None
    return {
        "overall": overall.quantize(Decimal("0.0001")) if overall is not None else None,
        "level": result.level.name if result.level else "",
        "urgent_indicator_count": sum(
            1 for f in result.of_kind(scoring.INDICATOR) if f.triage == scoring.Triage.URGENT
        ),
    }


def assessment_refresh(*, assessment, result=None):
    """Store the derived summary (overall, level, urgent count) used by lists and filters."""
    if result is None:
        result = compute_assessment(assessment)
    fields = summary_fields(result)
    Assessment.objects.filter(pk=assessment.pk).update(**fields)
    for name, value in fields.items():
        setattr(assessment, name, value)
    aggregates_invalidate(fiscal_year_id=assessment.fiscal_year_id, agency_id=assessment.agency_id)
    return result


RESTATE_CHUNK = 1000


def fiscal_year_restate(*, fiscal_year_id):
    """Store again the derived summary of every assessment of a year, after the year's level
    rules or framework changed in the admin (the stored level is otherwise only written when a
    score is saved or imported), then the year's averages, and enqueue the documents of the
    assessments whose summary changed. Runs in the task worker (tasks.fiscal_year_restate_task):
    a national year is 8,317 assessments. Returns how many changed."""
    from plans.prerender import documents_enqueue_after_commit  # plans depends on assessments

    nodes, rules = framework_nodes(fiscal_year_id), level_rule_specs(fiscal_year_id)
    ids = list(Assessment.objects.filter(fiscal_year_id=fiscal_year_id).order_by("pk").values_list("pk", flat=True))
    changed = []
    for start in range(0, len(ids), RESTATE_CHUNK):
        chunk = ids[start:start + RESTATE_CHUNK]
        official = {}
        for assessment_id, code, part, value in Score.objects.filter(assessment_id__in=chunk).values_list(
            "assessment_id", "item__code", "part", "value"
        ):
            official.setdefault(assessment_id, {})[code, part] = value
        with transaction.atomic():
            stored = Assessment.objects.filter(pk__in=chunk).only("pk", *SUMMARY_FIELDS)
            updates = []
            for assessment in stored:
                fields = summary_fields(scoring.compute(nodes, official.get(assessment.pk, {}), rules))
                if any(getattr(assessment, name) != value for name, value in fields.items()):
                    for name, value in fields.items():
                        setattr(assessment, name, value)
                    updates.append(assessment)
            Assessment.objects.bulk_update(updates, SUMMARY_FIELDS, batch_size=500)
        changed += [a.pk for a in updates]
    aggregates_refresh(fiscal_year=FiscalYear.objects.get(pk=fiscal_year_id))
    documents_enqueue_after_commit(assessment_ids=changed)
    return len(changed)


SUMMARY_FIELDS = ["overall", "level", "urgent_indicator_count"]


def fiscal_year_restate_after_commit(fiscal_year_id):
    """Enqueue fiscal_year_restate once the admin's save commits."""
    from assessments.tasks import fiscal_year_restate_task

    transaction.on_commit(lambda: fiscal_year_restate_task.enqueue(fiscal_year_id))


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


SUM = DecimalField(max_digits=16, decimal_places=4)


@transaction.atomic
def aggregates_refresh(*, fiscal_year, province=None):
    """Recompute the year's AggregateScore rows: for the overall score (Assessment.overall) and each
    indicator (its official Score row), the total, count and pass count over the nation, each
    province and each peer group (same province and agency type). Two grouped queries, whatever
    the number of agencies.

    With `province`, only the national rows and that province's rows are recomputed (a score
    edit changes nothing elsewhere); that province's overall row is written even when nothing is
    scored there, so a year and province with rows are known to be computed.
    Passing: an indicator at 85 or more (ผ่านเกณฑ์); an overall score whose level is a passing
    level of the year (LevelRule.passed).
    Called after an import commits, after a score is saved on the assessment page and by the demo
    data commands; a year left without rows (see aggregates_invalidate) is computed by the first
    page that reads it."""
    if not isinstance(fiscal_year, FiscalYear):
        fiscal_year = FiscalYear.objects.get(pk=fiscal_year)
    items = dict(
        FrameworkItem.objects.filter(fiscal_year=fiscal_year, kind__in=[scoring.OVERALL, scoring.INDICATOR])
        .values_list("pk", "kind")
    )
    overall_item = next((pk for pk, kind in items.items() if kind == scoring.OVERALL), None)
    indicators = [pk for pk, kind in items.items() if kind == scoring.INDICATOR]
    passing = list(LevelRule.objects.filter(fiscal_year=fiscal_year, passed=True).values_list("name", flat=True))
    Scope = AggregateScore.Scope
    groups = {}  # (scope, province, agency type, item id) → [total, count, passed]
    for item_id in items:
        groups[(Scope.NATIONAL, "", "", item_id)] = [Decimal(0), 0, 0]
    if province is not None and overall_item is not None:
        groups[(Scope.PROVINCE, province, "", overall_item)] = [Decimal(0), 0, 0]
    assessments = Assessment.objects.filter(fiscal_year=fiscal_year, overall__isnull=False)
    scores = Score.objects.filter(item_id__in=indicators, part="")
    rows = []
    if overall_item is not None:
        rows += [
            (p, t, overall_item, total, n, passed)
            for p, t, total, n, passed in _grouped(
                assessments, ["agency__province", "agency__agency_type"], "overall", Q(level__in=passing), province
            )
        ]
    rows += _grouped(
        scores,
        ["assessment__agency__province", "assessment__agency__agency_type", "item_id"],
        "value",
        Q(value__gte=scoring.PASS_MARK),
        province,
    )
    for p, t, item_id, total, n, passed in rows:
        for key in ((Scope.PROVINCE, p, "", item_id), (Scope.PEER, p, t, item_id)):
            _add(groups, key, total, n, passed)
    if province is None:
        for (scope, _p, _t, item_id), (total, n, passed) in list(groups.items()):
            if scope == Scope.PROVINCE:
                _add(groups, (Scope.NATIONAL, "", "", item_id), total, n, passed)
    else:
        # The nation without the join to agencies: sums over the year's rows only.
        if overall_item is not None:
            national = assessments.aggregate(
                total=Sum("overall", output_field=SUM), n=Count("pk"), passed=Count("pk", filter=Q(level__in=passing))
            )
            _add(groups, (Scope.NATIONAL, "", "", overall_item), national["total"] or 0, national["n"], national["passed"])
        for item_id, total, n, passed in (
            scores.values_list("item_id")
            .annotate(total=Sum("value", output_field=SUM), n=Count("pk"), passed=Count("pk", filter=Q(value__gte=scoring.PASS_MARK)))
            .order_by()
        ):
            _add(groups, (Scope.NATIONAL, "", "", item_id), total, n, passed)
    stale = AggregateScore.objects.filter(fiscal_year=fiscal_year)
    if province is not None:
        stale = stale.filter(Q(scope=Scope.NATIONAL) | Q(province=province))
    stale.delete()
    # ignore_conflicts: two pages filling the same missing rows at once write the same figures.
    AggregateScore.objects.bulk_create(
        [
            AggregateScore(
                fiscal_year=fiscal_year, scope=scope, province=p, agency_type=t, item_id=item_id,
                total=total, count=n, pass_count=passed,
            )
            for (scope, p, t, item_id), (total, n, passed) in groups.items()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


def aggregates_refresh_years(*, fiscal_years):
    """aggregates_refresh of each fiscal year (after an import, by the demo data commands)."""
    for fiscal_year in sorted(fiscal_years, key=lambda fy: fy.year):
        aggregates_refresh(fiscal_year=fiscal_year)


def _grouped(queryset, keys, field, passing, province):
    if province is not None:
        queryset = queryset.filter(**{keys[0]: province})
    return list(
        queryset.values_list(*keys)
        .annotate(total=Sum(field, output_field=SUM), n=Count("pk"), passed=Count("pk", filter=passing))
        .order_by()
    )


def _add(groups, key, total, n, passed):
    group = groups.setdefault(key, [Decimal(0), 0, 0])
    group[0] += total
    group[1] += n
    group[2] += passed


def aggregates_invalidate(*, fiscal_year_id, agency_id):
    """Drop the year's national rows and the rows of the agency's province after one of its
    assessments changed (one DELETE): the next page that reads them recomputes them
    (aggregates_refresh with the province), so no page shows averages older than the scores."""
    province = Agency.objects.filter(pk=agency_id).values("province")
    AggregateScore.objects.filter(fiscal_year_id=fiscal_year_id).filter(
        Q(scope=AggregateScore.Scope.NATIONAL) | Q(province__in=province)
    ).delete()
