"""The agency's public page /p/<agency_code>/ (no login): what the agency has published
(signed announcements and progress reports), for citizens and for the OIT reviewer."""

from django.shortcuts import get_object_or_404, render

from assessments.models import Agency
from ita_portal.pdf import pdf_response
from plans.models import Plan, StoredDocument

PUBLIC_KINDS = (StoredDocument.Kind.ANNOUNCEMENT, StoredDocument.Kind.PROGRESS)


def published_documents(agency):
    """Documents of the agency's signed plans only: a draft never reaches the public."""
    return StoredDocument.objects.filter(
        plan__agency=agency, plan__status=Plan.Status.SIGNED, kind__in=PUBLIC_KINDS
    ).select_related("plan")


def public_agency(request, code):
    agency = get_object_or_404(Agency, code=code)
    documents = list(published_documents(agency).order_by("-created_at", "-pk"))
    # An announcement is replaced once a later revision of its plan is signed.
    replaced_by = {
        plan.previous_id: plan
        for plan in Plan.objects.filter(agency=agency, status=Plan.Status.SIGNED, previous__isnull=False)
    }
    for document in documents:
        if document.kind == StoredDocument.Kind.ANNOUNCEMENT:
            document.replaced_by = replaced_by.get(document.plan_id)
    return render(request, "plans/public_agency.html", {"agency": agency, "documents": documents})


def public_document(request, code, verify_code):
    agency = get_object_or_404(Agency, code=code)
    document = get_object_or_404(published_documents(agency), verify_code=verify_code)
    with document.file.open("rb") as handle:
        data = handle.read()
    return pdf_response(data, f"{document.kind}-{agency.code}-{document.verify_code}.pdf")
