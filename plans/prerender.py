"""Documents rendered ahead: every document whose data is complete is rendered in the
background task worker when its data changes, and stored with the SHA-256 of its inputs
(plans.models.RenderedDocument). A download hashes the inputs again (a few small queries,
no context, no layout) and serves the stored bytes only when the hashes match: stale bytes
are never served, whatever the order in which tasks run.

The inputs are the rows a document is built from, serialised canonically (every concrete
field, ordered by primary key), plus the version of the code and templates that lay it out
(`code_version`). What other agencies contribute to the analysis (province and national
averages) enters as a fingerprint of the year's assessments: their count and the sum of
their versions, which every score save and every import bumps.

Kinds: "analysis" (an Assessment), "plan", "announcement" and "progress" (a Plan); each as a
PDF and as a Word copy. A signed announcement is not rendered here: it was stored once at
signing (StoredDocument) and is served as it is."""

import functools
import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from assessments.models import (
    Agency,
    AnalysisPhrase,
    AnalysisText,
    Assessment,
    FiscalYear,
    FrameworkItem,
    LevelRule,
    Score,
)
from plans.models import AgencyUnit, Measure, Plan, Progress, RenderedDocument

logger = logging.getLogger(__name__)

Kind = RenderedDocument.Kind
Format = RenderedDocument.Format
PLAN_KINDS = (Kind.PLAN, Kind.ANNOUNCEMENT, Kind.PROGRESS)
# Bump to re-render every stored document after a change the code hash cannot see.
RENDER_VERSION = "1"
# The code and templates a document's bytes depend on (hashed once per process).
_CODE_DIRS = ("assessments", "plans", "ita_portal", "templates/reports")
_CODE_SUFFIXES = (".py", ".html", ".css")


@functools.cache
def code_version():
    """SHA-256 of the source that builds and lays out documents, the fonts' names and
    WeasyPrint's version: a deploy that changes any of them makes every stored document stale."""
    import weasyprint

    digest = hashlib.sha256(f"{RENDER_VERSION}|{weasyprint.__version__}".encode())
    base = Path(settings.BASE_DIR)
    for folder in _CODE_DIRS:
        for path in sorted((base / folder).rglob("*")):
            if path.suffix in _CODE_SUFFIXES and "migrations" not in path.parts and path.is_file():
                digest.update(str(path.relative_to(base)).encode())
                digest.update(path.read_bytes())
    fonts = base / "static" / "fonts"
    if fonts.is_dir():
        digest.update("|".join(sorted(p.name for p in fonts.iterdir())).encode())
    return digest.hexdigest()


def _rows(queryset):
    """Every concrete field of every row, in primary-key order."""
    model = queryset.model
    return list(queryset.order_by("pk").values_list(*[f.attname for f in model._meta.concrete_fields]))


def _assessment_inputs(assessment_ids, fiscal_year_ids):
    return [
        _rows(Assessment.objects.filter(pk__in=assessment_ids)),
        list(
            Score.objects.filter(assessment_id__in=assessment_ids)
            .order_by("assessment_id", "item_id", "part")
            .values_list("assessment_id", "item_id", "part", "value")
        ),
        _rows(FiscalYear.objects.filter(pk__in=fiscal_year_ids)),
        _rows(FrameworkItem.objects.filter(fiscal_year_id__in=fiscal_year_ids)),
        _rows(LevelRule.objects.filter(fiscal_year_id__in=fiscal_year_ids)),
    ]


def _year_fingerprint(fiscal_year_id, province):
    """What the other agencies of the year contribute (averages, counts): every score save and
    import bumps the version of the assessments it changes, so the sum moves with them."""
    year = Assessment.objects.filter(fiscal_year_id=fiscal_year_id)
    figures = {"n": Count("pk"), "v": Sum("version"), "o": Sum("overall"), "last": Max("pk")}
    return [
        year.aggregate(**figures),
        year.filter(agency__province=province).aggregate(**figures) if province else None,
        Score.objects.aggregate(last=Max("pk")),
    ]


def _analysis_inputs(assessment):
    history = list(
        Assessment.objects.filter(agency_id=assessment.agency_id, fiscal_year__year__lte=assessment.fiscal_year.year)
        .values_list("pk", "fiscal_year_id")
    )
    ids = [pk for pk, _ in history]
    years = sorted({year for _, year in history})
    return [
        _rows(Agency.objects.filter(pk=assessment.agency_id)),
        *_assessment_inputs(ids, years),
        list(AnalysisText.objects.filter(assessment=assessment).order_by("item_id").values_list("item_id", "text")),
        _rows(AnalysisPhrase.objects.filter(Q(fiscal_year_id=assessment.fiscal_year_id) | Q(fiscal_year__isnull=True))),
        _year_fingerprint(assessment.fiscal_year_id, assessment.agency.province),
    ]


def _plan_inputs(plan, kind):
    measures = Measure.objects.filter(plan=plan)
    inputs = [
        _rows(Plan.objects.filter(pk=plan.pk)),
        _rows(Agency.objects.filter(pk=plan.agency_id)),
        *_assessment_inputs([plan.assessment_id], [plan.assessment.fiscal_year_id]),
        _rows(measures),
        list(Measure.questions.through.objects.filter(measure__plan=plan).order_by("pk").values_list(
            "measure_id", "frameworkitem_id")),
        list(Measure.units.through.objects.filter(measure__plan=plan).order_by("pk").values_list(
            "measure_id", "agencyunit_id")),
        _rows(AgencyUnit.objects.filter(agency_id=plan.agency_id)),
    ]
    if kind == Kind.PROGRESS:
        # The report prints today's date and which quarters are due.
        inputs += [_rows(Progress.objects.filter(measure__plan=plan)), str(timezone.localdate())]
    return inputs


def document_inputs_hash(kind, obj, fmt=Format.PDF):
    """SHA-256 of everything the document `kind` of `obj` (an Assessment for "analysis", a
    Plan otherwise) is built from, in `fmt`: cheap (small queries), no context, no layout."""
    if kind == Kind.ANALYSIS:
        inputs = _analysis_inputs(obj)
    elif kind in PLAN_KINDS:
        inputs = _plan_inputs(obj, kind)
    else:
        raise ValueError(kind)
    text = repr([code_version(), str(kind), str(fmt), obj.pk, inputs])
    return hashlib.sha256(text.encode()).hexdigest()


def document_is_complete(kind, obj):
    """Whether the document has the data it needs: an analysis needs an overall score; a
    plan's documents need a measure; the progress report a signed plan. A signed
    announcement is the one stored at signing, never rendered here."""
    if kind == Kind.ANALYSIS:
        return obj.overall is not None
    if kind == Kind.ANNOUNCEMENT and obj.is_signed:
        return False
    if kind == Kind.PROGRESS and not obj.is_signed:
        return False
    return obj.measures.exists()


def render_fresh(kind, obj, fmt=Format.PDF):
    """The document's bytes, laid out now (the same renderers as the downloads always used)."""
    if fmt == Format.DOCX:
        if kind == Kind.ANALYSIS:
            from assessments.docx_documents import render_analysis_docx

            return render_analysis_docx(obj)
        from plans.docx_documents import render_plan_docx

        return render_plan_docx(obj, kind)
    if kind == Kind.ANALYSIS:
        from assessments.documents import analysis_context
        from ita_portal.pdf import html_to_pdf, render_html

        return html_to_pdf(render_html("reports/analysis.html", analysis_context(obj)))
    from plans.documents import render_plan_document

    return render_plan_document(obj, kind)


def load(kind, object_id):
    """The Assessment or Plan a document is made of, or None when it is gone."""
    if kind == Kind.ANALYSIS:
        return Assessment.objects.select_related("agency", "fiscal_year").filter(pk=object_id).first()
    return Plan.objects.select_related("agency", "assessment__fiscal_year").filter(pk=object_id).first()


def stored_bytes(kind, obj, inputs_hash, fmt=Format.PDF):
    """The stored bytes rendered from exactly these inputs, or None."""
    row = (
        RenderedDocument.objects.filter(kind=kind, object_id=obj.pk, format=fmt, inputs_hash=inputs_hash)
        .values_list("data", flat=True)
        .first()
    )
    return bytes(row) if row is not None else None


def document_prerender(kind, obj, fmt=Format.PDF, *, render=None):
    """Render and store the document unless the stored one was made from the same inputs.
    Returns the bytes stored (or already there). The inputs are hashed before rendering and
    again after: when they changed meanwhile, nothing is stored (the next change's task, or
    the next download, renders them), so bytes are never filed under inputs they do not show.
    `render` (no arguments → bytes) replaces the usual renderer."""
    before = document_inputs_hash(kind, obj, fmt)
    data = stored_bytes(kind, obj, before, fmt)
    if data is not None:
        return data
    data = render() if render is not None else render_fresh(kind, obj, fmt)
    if document_inputs_hash(kind, obj, fmt) != before:
        logger.info("inputs of %s %s changed while rendering; not stored", kind, obj.pk)
        return data
    try:
        RenderedDocument.objects.update_or_create(
            kind=kind, object_id=obj.pk, format=fmt, defaults={"inputs_hash": before, "data": data}
        )
    except DatabaseError:
        # Storing is an optimisation: the bytes are good either way (SQLite may refuse a write
        # while another process holds the lock during a bulk render).
        logger.warning("rendered %s %s but could not store it", kind, obj.pk, exc_info=True)
    return data


def document_prerender_by_id(kind, object_id, fmt=Format.PDF):
    """The task's body: the object may have been deleted since it was enqueued."""
    obj = load(kind, object_id)
    if obj is None or not document_is_complete(kind, obj):
        return False
    document_prerender(kind, obj, fmt)
    return True


def document_enqueue(kind, object_id, fmt=Format.PDF):
    from plans.tasks import prerender_document

    prerender_document.enqueue(kind, object_id, fmt)


def _documents_of(obj):
    if isinstance(obj, Assessment):
        yield Kind.ANALYSIS, obj
        # The plans drafted from this assessment print its figures too.
        for plan in Plan.objects.filter(assessment=obj).select_related("agency", "assessment__fiscal_year"):
            yield from _documents_of(plan)
    else:
        for kind in PLAN_KINDS:
            yield kind, obj


def documents_enqueue_for(obj):
    """Enqueue one background render per complete document of an Assessment (its analysis
    and its plans' documents) or of a Plan, in PDF and in Word. Called after commit."""
    for kind, target in _documents_of(obj):
        if document_is_complete(kind, target):
            for fmt in Format.values:
                document_enqueue(kind, target.pk, fmt)


def documents_enqueue_for_ids(*, assessment_ids=(), plan_ids=()):
    """documents_enqueue_for each of these assessments and plans (the fan-out task's body)."""
    for assessment in Assessment.objects.filter(pk__in=assessment_ids).select_related("agency", "fiscal_year"):
        documents_enqueue_for(assessment)
    for plan in Plan.objects.filter(pk__in=plan_ids).select_related("agency", "assessment__fiscal_year"):
        documents_enqueue_for(plan)


def documents_enqueue_after_commit(*, assessment_ids=(), plan_ids=()):
    """Once the caller's transaction commits (at once outside one), enqueue the documents of
    these assessments and plans: a rolled-back change renders nothing, and a worker never
    reads data older than the change. One object (a score page, a plan) enqueues its documents
    directly; more (an import) enqueue one task that does it in the worker, so a national
    import does not wait for thousands of enqueues."""
    assessment_ids, plan_ids = [int(i) for i in assessment_ids], [int(i) for i in plan_ids]
    if not settings.DOCUMENTS_RENDER_AHEAD or not (assessment_ids or plan_ids):
        return

    def enqueue():
        if len(assessment_ids) + len(plan_ids) > 1:
            from plans.tasks import prerender_many

            prerender_many.enqueue(assessment_ids, plan_ids)
        else:
            documents_enqueue_for_ids(assessment_ids=assessment_ids, plan_ids=plan_ids)

    transaction.on_commit(enqueue)



def documents_enqueue_for_agency(agency_id):
    """An agency's name, emblem, signatory and units print on all its documents: after one of
    them is edited, enqueue every document of its assessments (and so of their plans) again."""
    documents_enqueue_after_commit(
        assessment_ids=Assessment.objects.filter(agency_id=agency_id).values_list("pk", flat=True))


PREPARING_TEMPLATE = "documents/preparing.html"
# A document being rendered is enqueued once per this many seconds, whatever the refreshes.
ENQUEUE_EVERY_SECONDS = 60


def _etag_matches(request, etag):
    header = request.headers.get("If-None-Match", "")
    return header.strip() == "*" or etag in [tag.strip().removeprefix("W/") for tag in header.split(",")]


def document_response(request, kind, obj, *, fmt=Format.PDF, filename):
    """The download of a document rendered ahead: the stored bytes when they were made from
    the current inputs (ETag = the inputs' hash; If-None-Match answers 304), else a page that
    says the document is being prepared and reloads itself every 2 seconds, after enqueueing
    its render. With the immediate task backend (tests, a server without a worker) the render
    runs during the request and the bytes are served at once. An incomplete document (no
    overall score, no measure) is rendered during the request, as it always was."""
    from django.core.cache import cache
    from django.http import HttpResponseNotModified
    from django.shortcuts import render

    from ita_portal.docx import docx_response
    from ita_portal.pdf import pdf_response

    def respond(data, etag):
        response = (pdf_response if fmt == Format.PDF else docx_response)(data, filename)
        if etag:
            response["ETag"] = etag
            # The browser keeps its copy but asks each time: the hash decides whether it is current.
            response["Cache-Control"] = "private, no-cache"
        return response

    if not document_is_complete(kind, obj):
        return respond(render_fresh(kind, obj, fmt), None)
    inputs_hash = document_inputs_hash(kind, obj, fmt)
    etag = f'"{inputs_hash}"'
    if _etag_matches(request, etag):
        response = HttpResponseNotModified()
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-cache"
        return response
    data = stored_bytes(kind, obj, inputs_hash, fmt)
    if data is None:
        if cache.add(f"prerender:{kind}:{obj.pk}:{fmt}:{inputs_hash}", 1, ENQUEUE_EVERY_SECONDS):
            document_enqueue(kind, obj.pk, fmt)
        # The immediate backend has rendered it already.
        data = stored_bytes(kind, obj, inputs_hash, fmt)
    if data is None:
        response = render(
            request, PREPARING_TEMPLATE, {"kind_label": Kind(kind).label, "object": obj, "filename": filename},
            status=202,
        )
        response["Cache-Control"] = "no-store"
        response["Retry-After"] = "2"
        return response
    return respond(data, etag)
