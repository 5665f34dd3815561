"""The portal's URLs plus views that fail on purpose, for the logging tests (tests/test_ops_logging.py)."""

from django.urls import path

from ita_portal.urls import handler500  # noqa: F401
from ita_portal.urls import urlpatterns as portal_urlpatterns


class PortalTestFailure(RuntimeError):
    pass


def boom(request):
    raise PortalTestFailure("ops-test: the view failed on purpose")


urlpatterns = [path("ops-test/boom/", boom), *portal_urlpatterns]
