"""Bulk documents: one kind of document for every agency assessed in a fiscal year, in
one province or the whole country, rendered in the background into one ZIP.

WeasyPrint holds the GIL for most of a render, so documents render in separate
processes, never threads (measured: two processes ×1.95, two threads ×0.75).
BULK_RENDER_PROCESSES sets how many (default 2); 0 renders in the calling process,
which the tests use with their in-memory database."""

import logging
import multiprocessing
import re
import tempfile
import uuid
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import django
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import connections, transaction
from django.utils import timezone

from assessments.documents import render_analysis
from assessments.models import Agency, Assessment, FiscalYear, Membership
from plans.announcement import render_announcement, stored_announcement
from plans.models import BulkRenderJob, Plan

logger = logging.getLogger(__name__)

Kind = BulkRenderJob.Kind
Status = BulkRenderJob.Status

DEFAULT_PROCESSES = 2
# WeasyPrint's memory grows slowly with every render: a worker process is replaced after this many.
MAX_TASKS_PER_CHILD = 50
# Documents queued per worker process at a time: enough to keep each busy, few enough
# that a whole country's PDFs never sit in memory waiting to be written.
QUEUED_PER_PROCESS = 4

NO_PLAN = "ยังไม่มีแผน"
NO_ASSESSMENT_ROLE = "สร้างเอกสารจำนวนมากได้เฉพาะผู้ดูแลระบบและเจ้าหน้าที่ระดับจังหวัด"
OTHER_PROVINCE = "เจ้าหน้าที่ระดับจังหวัดสร้างเอกสารได้เฉพาะหน่วยงานในจังหวัดของตนเอง"
WORKER_DIED = "กระบวนการสร้างเอกสารหยุดทำงานกะทันหัน (หน่วยความจำอาจไม่พอ)"


@dataclass(frozen=True)
class Target:
    """One agency's document to render: `object_id` is the assessment (analysis) or the
    plan (announcement); None when there is nothing to render, with the reason."""

    code: str
    name: str
    object_id: int | None
    reason: str = ""


UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9-]")


def bulk_file_name(code, kind, year):
    """The ZIP member of one agency's document. Codes are letters, digits and "-" (the
    Agency.code validator), but one stored before that rule could hold "/" or "..": any other
    character becomes "_", so no member name is a path (no "zip slip" on extraction)."""
    safe = UNSAFE_IN_NAME.sub("_", code) or "_"
    return f"{safe}-{kind}-{year}.pdf"


def unique_name(name, used):
    """`name`, or `name` numbered (-2, -3 …) when two codes sanitise to the same name."""
    stem, dot, extension = name.rpartition(".")
    candidate, number = name, 1
    while candidate in used:
        number += 1
        candidate = f"{stem}-{number}{dot}{extension}"
    used.add(candidate)
    return candidate


def officer_provinces(user):
    """The provinces where the user is a provincial officer."""
    if not user.is_authenticated:
        return []
    rows = Membership.objects.filter(user=user, role=Membership.Role.PROVINCIAL).values_list("province", flat=True)
    return sorted(set(rows))


def bulk_province_choices(user):
    """Provinces the user may render for, as form choices; empty when the user may not
    start bulk rendering at all. A superuser also gets "" (every province)."""
    if not user.is_authenticated:
        return []
    if user.is_superuser:
        provinces = Agency.objects.exclude(province="").order_by("province").values_list("province", flat=True)
        return [("", "ทุกจังหวัด")] + [(p, p) for p in provinces.distinct()]
    return [(p, p) for p in officer_provinces(user)]


def bulk_year_choices():
    years = FiscalYear.objects.filter(assessments__isnull=False).distinct().order_by("-year")
    return [(y, f"ปีงบประมาณ {y}") for y in years.values_list("year", flat=True)]


def bulk_assessments(fiscal_year, province):
    assessments = Assessment.objects.filter(fiscal_year__year=fiscal_year)
    if province:
        assessments = assessments.filter(agency__province=province)
    return assessments


def _where(province):
    return f"จังหวัด{province}" if province else "ทุกจังหวัด"


@transaction.atomic
def bulk_job_start(*, user, kind, fiscal_year, province=""):
    """Queue the rendering of `kind` for every agency assessed in `fiscal_year` (the
    assessed year, พ.ศ.) in `province`, or in every province when blank. A superuser may
    choose any province or all of them; a provincial officer only their own."""
    if not user.is_authenticated:
        raise PermissionDenied(NO_ASSESSMENT_ROLE)
    if not user.is_superuser:
        provinces = officer_provinces(user)
        if not provinces:
            raise PermissionDenied(NO_ASSESSMENT_ROLE)
        if province not in provinces:
            raise PermissionDenied(OTHER_PROVINCE)
    if kind not in Kind.values:
        raise ValidationError("ไม่มีเอกสารประเภทนี้")
    if not bulk_assessments(fiscal_year, province).exists():
        raise ValidationError(f"ไม่พบผลการประเมินปีงบประมาณ {fiscal_year} ของหน่วยงานใน{_where(province)}")
    job = BulkRenderJob(user=user, kind=kind, fiscal_year=fiscal_year, province=province or "")
    job.full_clean()
    job.save()
    from plans.tasks import bulk_render  # plans.tasks imports this module

    # Enqueued inside the transaction: the database backend stores the task row with the
    # job, so a worker never picks up a task whose job is not committed (or rolled back).
    bulk_render.enqueue(job.pk)
    return job


def bulk_targets(job):
    """What to render, one per agency assessed in the job's year and province, ordered by
    province and agency code. An announcement comes from the plan drafted from that
    assessment: its signed revision if any, else its latest revision."""
    assessments = list(
        bulk_assessments(job.fiscal_year, job.province)
        .select_related("agency")
        .order_by("agency__province", "agency__code")
    )
    if job.kind == Kind.ANALYSIS:
        return [Target(a.agency.code, a.agency.name, a.pk) for a in assessments]
    best = {}
    plans = Plan.objects.filter(assessment__in=bulk_assessments(job.fiscal_year, job.province))
    for assessment_id, plan_id, status, revision in plans.values_list("assessment_id", "pk", "status", "revision"):
        rank = (status == Plan.Status.SIGNED, revision)
        if assessment_id not in best or rank > best[assessment_id][0]:
            best[assessment_id] = (rank, plan_id)
    return [
        Target(a.agency.code, a.agency.name, best[a.pk][1])
        if a.pk in best
        else Target(a.agency.code, a.agency.name, None, NO_PLAN)
        for a in assessments
    ]


def render_document(kind, object_id):
    """PDF bytes of one agency's document (the same renderers as the single downloads). A
    document rendered ahead whose inputs still hash the same is taken as stored; one that
    changed is rendered and stored again (plans.prerender). A signed announcement is the
    file stored at signing."""
    from plans import prerender

    if kind == Kind.ANALYSIS:
        obj = Assessment.objects.select_related("agency", "fiscal_year").get(pk=object_id)
    elif kind == Kind.ANNOUNCEMENT:
        obj = Plan.objects.select_related("agency", "assessment__fiscal_year").get(pk=object_id)
    else:
        raise ValueError(kind)
    def render():
        return render_analysis(obj) if kind == Kind.ANALYSIS else render_announcement(obj)

    if prerender.document_is_complete(kind, obj):
        return prerender.document_prerender(kind, obj, render=render)
    return render()


def render_in_worker(kind, object_id):
    """One document in a pool process (or in-process when sequential): (object_id, pdf, "")
    or (object_id, None, Thai reason). It never raises, so one broken document cannot
    stop the others."""
    try:
        return object_id, render_document(kind, object_id), ""
    except Exception as error:
        logger.exception("bulk render of %s %s failed", kind, object_id)
        return object_id, None, f"สร้างเอกสารไม่สำเร็จ: {type(error).__name__}: {error}"


def _new_pool(processes):
    # Spawned processes start bare and share nothing with the parent (no inherited
    # database socket, no half-initialised WeasyPrint): each sets Django up once, in the
    # initializer, before it unpickles its first job (which imports this module).
    return ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=django.setup,
        max_tasks_per_child=MAX_TASKS_PER_CHILD,
    )


def _close_connections():
    """Close the database connections before starting processes, so no child can inherit
    a socket. One inside a transaction (the immediate task backend runs the task inside
    the request's) stays open: closing it would break that transaction."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def _render_in_processes(kind, targets, processes):
    """(target, pdf | None, reason) for each target, in the order they finish."""
    queue = iter(targets)
    _close_connections()
    pool = _new_pool(processes)
    in_flight = {}  # future → target
    try:
        while True:
            while len(in_flight) < processes * QUEUED_PER_PROCESS:
                target = next(queue, None)
                if target is None:
                    break
                in_flight[pool.submit(render_in_worker, kind, target.object_id)] = target
            if not in_flight:
                return
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in finished:
                target = in_flight.pop(future)
                try:
                    _, pdf, reason = future.result()
                except BrokenProcessPool:
                    broken = True
                    pdf, reason = None, WORKER_DIED
                yield target, pdf, reason
            if broken:
                # A worker was killed (out of memory?) and the pool is unusable: report
                # the documents it still held and carry on with a fresh pool.
                for target in in_flight.values():
                    yield target, None, WORKER_DIED
                in_flight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = _new_pool(processes)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def stored_document(kind, object_id):
    """The document's bytes when nothing needs laying out: a signed announcement's stored
    file, or a document rendered ahead whose inputs still hash the same; else None."""
    from plans import prerender

    obj = prerender.load(kind, object_id)
    if obj is None:
        return None
    if kind == Kind.ANNOUNCEMENT and obj.is_signed:
        return render_announcement(obj) if stored_announcement(obj) is not None else None
    if not prerender.document_is_complete(kind, obj):
        return None
    return prerender.stored_bytes(kind, obj, prerender.document_inputs_hash(kind, obj))


def _render_all(kind, targets, processes):
    for target in targets:
        if target.object_id is None:
            yield target, None, target.reason
    pending = []
    for target in (t for t in targets if t.object_id is not None):
        # Stored documents are read here: only what must be laid out goes to the processes,
        # and a province whose documents are all stored starts no process at all.
        try:
            pdf = stored_document(kind, target.object_id)
        except Exception:
            logger.exception("reading the stored %s %s failed", kind, target.object_id)
            pdf = None
        if pdf is None:
            pending.append(target)
        else:
            yield target, pdf, ""
    if not pending:
        return
    if processes <= 0:
        for target in pending:
            _, pdf, reason = render_in_worker(kind, target.object_id)
            yield target, pdf, reason
    else:
        yield from _render_in_processes(kind, pending, processes)


def bulk_job_run(*, job_id, processes=None):
    """Render every document of the job into one ZIP (`<agency code>-<kind>-<year>.pdf`),
    recording progress after each document and each failure (agency code, name, Thai
    reason) without stopping the rest. The job ends done when at least one document
    rendered, failed otherwise."""
    if processes is None:
        processes = getattr(settings, "BULK_RENDER_PROCESSES", DEFAULT_PROCESSES)
    job = BulkRenderJob.objects.get(pk=job_id)
    try:
        targets = bulk_targets(job)
        job.status, job.total, job.done, job.failures = Status.RUNNING, len(targets), 0, []
        job.save(update_fields=["status", "total", "done", "failures"])
        rendered, names = 0, set()
        with tempfile.TemporaryFile() as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for target, pdf, reason in _render_all(job.kind, targets, processes):
                    if pdf is None:
                        job.failures.append({"code": target.code, "name": target.name, "reason": reason})
                    else:
                        name = unique_name(bulk_file_name(target.code, job.kind, job.fiscal_year), names)
                        archive.writestr(name, pdf)
                        rendered += 1
                    job.done += 1
                    BulkRenderJob.objects.filter(pk=job.pk).update(done=job.done, failures=job.failures)
            if rendered:
                tmp.seek(0)
                job.archive.save(f"{uuid.uuid4().hex}.zip", File(tmp), save=False)
        job.status = Status.DONE if rendered else Status.FAILED
        job.finished_at = timezone.now()
        job.save(update_fields=["status", "done", "failures", "archive", "finished_at"])
    except Exception:
        BulkRenderJob.objects.filter(pk=job.pk).update(status=Status.FAILED, finished_at=timezone.now())
        raise
    return job
