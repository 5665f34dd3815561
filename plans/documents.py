"""Document downloads for plans: the measures plan, the announcement and the progress report."""

from django.contrib.auth.decorators import login_required
from django.http import Http404

from ita_portal.pdf import pdf_response
from plans.prerender import document_response
from plans.views import _get_plan_for_user

KINDS = ("plan", "announcement", "progress")


def render_plan_document(plan, kind):
    """PDF bytes of a plan's document. A signed announcement is the stored file itself."""
    if kind == "plan":
        from plans.measures_plan import render_measures_plan

        return render_measures_plan(plan)
    if kind == "announcement":
        from plans.announcement import render_announcement

        return render_announcement(plan)
    if kind == "progress":
        from plans.progress_report import render_progress

        return render_progress(plan)
    raise ValueError(kind)


FILENAMES = {"plan": "measures-plan", "announcement": "announcement", "progress": "progress-report"}


@login_required
def download(request, pk, kind):
    plan = _get_plan_for_user(request, pk)
    if kind not in KINDS:
        raise Http404("ไม่มีเอกสารประเภทนี้")
    filename = f"{FILENAMES[kind]}-{plan.agency.code}-{plan.target_year}{plan.file_suffix}.pdf"
    if kind == "announcement" and plan.is_signed:
        # The signed announcement is the file stored at signing, served as it is.
        return pdf_response(render_plan_document(plan, kind), filename)
    return document_response(request, kind, plan, filename=filename)


@login_required
def download_docx(request, pk, kind):
    """The Word copy of a plan's document, with the same access check as the PDF."""
    plan = _get_plan_for_user(request, pk)
    if kind not in KINDS:
        raise Http404("ไม่มีเอกสารประเภทนี้")
    return document_response(
        request, kind, plan, fmt="docx",
        filename=f"{FILENAMES[kind]}-{plan.agency.code}-{plan.target_year}{plan.file_suffix}.docx",
    )
