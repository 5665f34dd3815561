"""The progress report (รายงานผลการดำเนินการ): what was done on each measure of a signed
plan, quarter by quarter, with evidence. It is the document OIT item O28 (FY2568)
asks for; publishing stores it once so the public page serves the same bytes."""

import hashlib
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from assessments.models import Membership
from ita_portal import thai
from ita_portal.pdf import render_pdf
from plans.announcement import new_verify_code
from plans.models import Plan, Progress, StoredDocument
from plans.services import _require_role, plan_progress_percent

Role = Membership.Role
Status = Progress.Status

REPORT_NAME = "รายงานผลการดำเนินการตามมาตรการส่งเสริมคุณธรรมและความโปร่งใสภายในหน่วยงาน"

# Quarters without a record: already under way or over, or still ahead in the fiscal year.
NOT_REPORTED = "ยังไม่ได้รายงานผล"
NOT_DUE = "ยังไม่ถึงกำหนด"
EN_DASH = "\u2013"


def report_title(plan, today):
    """รายงานผลการดำเนินการ… ประจำปีงบประมาณ พ.ศ. ๒๕๖๙ (ข้อมูล ณ วันที่ …)."""
    fiscal_year = thai.format_fiscal_year(plan.target_year)
    return f"{REPORT_NAME} ประจำ{fiscal_year} (ข้อมูล ณ วันที่ {thai.thai_date(today)})"


def _evidence(progress):
    if progress is None:
        return ""
    if progress.evidence_url:
        return progress.evidence_url
    if progress.evidence_file:
        return PurePosixPath(progress.evidence_file.name).name
    return ""


def _quarters_of(measure, recorded):
    planned = measure.quarter_list or [1, 2, 3, 4]
    return sorted(set(planned) | set(recorded))


def _is_due(plan, quarter, today):
    start, _ = thai.fiscal_quarter_range(plan.target_year, quarter)
    return start <= today


def _quarter_rows(plan, measure, by_quarter, digits, today):
    """One row per recorded quarter; consecutive quarters with nothing recorded share
    one row ("๓–๔ ยังไม่ได้รายงานผล") so an unreported measure takes a single line."""
    rows = []
    for quarter in _quarters_of(measure, by_quarter):
        progress = by_quarter.get(quarter)
        if progress is None:
            status = NOT_REPORTED if _is_due(plan, quarter, today) else NOT_DUE
            previous = rows[-1] if rows else None
            if previous and previous["progress"] is None and previous["status"] == status \
                    and previous["last"] == quarter - 1:
                previous["last"] = quarter
                continue
            rows.append({"first": quarter, "last": quarter, "progress": None, "status": status})
        else:
            rows.append({"first": quarter, "last": quarter, "progress": progress,
                         "status": progress.get_status_display()})
    for row in rows:
        span = str(row["first"]) if row["first"] == row["last"] else f"{row['first']}{EN_DASH}{row['last']}"
        progress = row.pop("progress")
        row.update(
            label=thai.thai_digits(span) if digits == "thai" else span,
            status_key=progress.status if progress is not None else "",
            note=progress.note if progress is not None else "",
            evidence=_evidence(progress),
        )
    return rows


def progress_context(plan, today=None):
    """Everything the template prints, built here with list() so no query runs while
    rendering. A measure's state is that of its latest recorded quarter, as in
    services.plan_progress_percent; a measure with no record counts as not started."""
    today = today or timezone.localdate()
    agency = plan.agency
    digits = agency.table_digits
    measures = list(
        plan.measures.select_related("indicator").prefetch_related(
            Prefetch("progress", queryset=Progress.objects.order_by("quarter"))
        )
    )
    all_progress = []
    counts = {s: 0 for s in Status.values}
    rows = []
    for number, measure in enumerate(measures, start=1):
        records = list(measure.progress.all())
        all_progress.extend(records)
        by_quarter = {p.quarter: p for p in records}
        latest = records[-1].status if records else Status.NOT_STARTED
        counts[latest] += 1
        quarters = _quarter_rows(plan, measure, by_quarter, digits, today)
        indicator = measure.indicator.label
        rows.append(
            {
                "number": thai.thai_digits(number) if digits == "thai" else str(number),
                "title": measure.title,
                "indicator": thai.thai_digits(indicator) if digits == "thai" else indicator,
                "quarters": quarters,
            }
        )
    unreported = sum(1 for m in measures if not m.progress.all())
    summary = [
        (label, thai.thai_digits(counts[status]))
        for status, label in (
            (Status.DONE, "ดำเนินการแล้วเสร็จ"),
            (Status.IN_PROGRESS, "อยู่ระหว่างดำเนินการ"),
            (Status.NOT_STARTED, "ยังไม่ดำเนินการ"),
            (Status.CANCELLED, "ยกเลิก"),
        )
    ]
    return {
        "plan": plan,
        "agency": agency,
        "report_name": REPORT_NAME,
        "fiscal_year": thai.format_fiscal_year(plan.target_year),
        "announced_on": thai.thai_date(plan.announced_on) if plan.announced_on else "",
        "report_date": thai.thai_date(today),
        "measure_count": thai.thai_digits(len(measures)),
        "summary": summary,
        "unreported": thai.thai_digits(unreported) if unreported else "",
        "percent": thai.thai_digits(plan_progress_percent(plan, measures, all_progress)),
        "rows": rows,
        "emblem": _emblem_uri(agency),
    }


def _emblem_uri(agency):
    # A file:// URL: WeasyPrint reads the emblem from disk, never over HTTP.
    if not agency.emblem:
        return ""
    try:
        return PurePosixPath(agency.emblem.path).as_uri()
    except (NotImplementedError, ValueError):
        return ""


def _render(plan, today):
    return render_pdf("reports/progress.html", progress_context(plan, today), cache_seconds=300)


def render_progress(plan):
    """PDF bytes of the plan's progress report as of today (Bangkok)."""
    return _render(plan, timezone.localdate())


def progress_publish(*, plan, user):
    """Publish the progress report on the agency's public page (OIT O28).

    Staff only, signed plans only. The report is rendered once and stored with its
    SHA-256; publishing again stores a new dated document, unless nothing changed
    (identical bytes), in which case the document already published is returned."""
    _require_role(user, plan, Role.STAFF, action="เผยแพร่รายงานผล")
    if not plan.is_signed:
        raise ValidationError(
            f"เผยแพร่รายงานผลไม่ได้ เพราะแผนอยู่ในสถานะ “{plan.get_status_display()}” ต้องลงนามประกาศแผนก่อน"
        )
    today = timezone.localdate()
    # Laid out before the transaction: rendering takes seconds and needs no lock.
    data = _render(plan, today)
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        # Two clicks at once would both find no document with this hash; lock the plan.
        locked = Plan.objects.select_for_update().get(pk=plan.pk)
        existing = StoredDocument.objects.filter(
            plan=locked, kind=StoredDocument.Kind.PROGRESS, sha256=digest
        ).first()
        if existing is not None:
            return existing
        document = StoredDocument(
            plan=locked,
            kind=StoredDocument.Kind.PROGRESS,
            title=report_title(locked, today),
            sha256=digest,
            verify_code=new_verify_code(),
            created_by=user,
        )
        document.file.save("progress.pdf", ContentFile(data), save=False)
        try:
            document.full_clean()
            document.save()
        except Exception:
            document.file.delete(save=False)
            raise
    return document
