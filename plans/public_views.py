"""The agency's public page /p/<agency_code>/ (no login). To be implemented."""

from django.http import Http404


def public_agency(request, code):
    raise Http404


def public_document(request, code, verify_code):
    raise Http404
