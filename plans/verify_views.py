"""Public verification of stored documents. To be implemented."""

from django.http import Http404


def verify_document(request, code):
    raise Http404


def verify_lookup(request):
    raise Http404
