import datetime
from decimal import Decimal

import pytest

from assessments.models import Agency, Assessment, FiscalYear, FrameworkItem, Score
from assessments.services import assessment_refresh
from tests.seed_figures import SEED_000

DEMO_TODAY = datetime.date(2025, 10, 20)

# The sign form as the mayor fills it in the demo's season: day / Thai month / พ.ศ. selects,
# announced 2 ตุลาคม 2568 after the meeting of 16 กันยายน 2568.
SIGN_DATA = {
    "signatory_name": "นายสาธิต ระบบดี",
    "signatory_position": "นายกองค์การบริหารส่วนตำบลพลสงคราม",
    "announced_on_0": "2", "announced_on_1": "10", "announced_on_2": "2568",
    "meeting_number": "1/2568",
    "meeting_date_0": "16", "meeting_date_1": "9", "meeting_date_2": "2568",
    "confirm": "on",
}


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_inline(settings):
    # Background tasks run during the call that enqueues them: a document download renders
    # its document at once instead of answering "being prepared". Tests of the queued path
    # (tests/test_rendered_ahead.py) set the database backend themselves.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Saving scores or a plan does not lay out its documents after commit (seconds each with
    # the immediate backend); tests/test_rendered_ahead.py turns it on.
    settings.DOCUMENTS_RENDER_AHEAD = False


@pytest.fixture(autouse=True)
def _demo_today(monkeypatch):
    # The fixtures are FY2568 results and FY2569 plans, signed on 2 Oct 2568 (2025): the date
    # checks (plans.services.portal_today) read "today" as a day of that season, so a date a
    # year away from today stays refused without the suite expiring as the calendar moves on.
    monkeypatch.setattr("plans.services.portal_today", lambda: DEMO_TODAY)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Signing stores PDFs and certificates; keep them out of the project's media/.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def fy2568(db):
    return FiscalYear.objects.get(year=2568)


@pytest.fixture
def agency_a(db):
    return Agency.objects.create(
        code="A001", name="องค์การบริหารส่วนตำบลพลสงคราม", agency_type=Agency.Type.SAO,
        district="โนนสูง", province="นครราชสีมา",
    )


@pytest.fixture
def agency_b(db):
    return Agency.objects.create(
        code="B001", name="เทศบาลตำบลคึกคัก", agency_type=Agency.Type.SUBDISTRICT_MUNICIPALITY,
        district="ตะกั่วป่า", province="พังงา",
    )


def make_assessment(agency, year, figures):
    """An assessment holding `figures` ((item, part) → str) as official scores."""
    fiscal_year = FiscalYear.objects.get(year=year)
    assessment = Assessment.objects.create(agency=agency, fiscal_year=fiscal_year)
    items = {i.code: i for i in FrameworkItem.objects.filter(fiscal_year=fiscal_year)}
    Score.objects.bulk_create(
        Score(assessment=assessment, item=items[code], part=part, value=Decimal(value))
        for (code, part), value in figures.items()
    )
    assessment_refresh(assessment=assessment)
    return assessment


@pytest.fixture
def seed_assessment(agency_a):
    """อบต.พลสงคราม FY2568 with everything seed 000 publishes."""
    return make_assessment(agency_a, 2568, SEED_000)


@pytest.fixture
def other_assessment(agency_b):
    figures = {(str(n), ""): "80.00" for n in range(1, 11)}
    return make_assessment(agency_b, 2568, figures)


def member(django_user_model, username, agency, *roles, is_staff=False, first_name=""):
    from assessments.models import Membership

    user = django_user_model.objects.create_user(username, password="pw", is_staff=is_staff, first_name=first_name)
    for role in roles:
        Membership.objects.create(user=user, agency=agency, role=role)
    return user


def page_html(client, user, url):
    """The page at `url` as `user` sees it: logged in, answered 200, its HTML."""
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def owner(db, django_user_model, agency_a):
    """Staff of agency A: enters scores and drafts plans."""
    return member(django_user_model, "owner", agency_a, "staff", is_staff=True)


@pytest.fixture
def wg_member(db, django_user_model, agency_a):
    """Working group of agency A: reviews plans."""
    return member(django_user_model, "member", agency_a, "working_group")


@pytest.fixture
def mayor(db, django_user_model, agency_a):
    """Signatory of agency A."""
    return member(django_user_model, "mayor", agency_a, "signatory", first_name="สาธิต")


@pytest.fixture
def outsider(db, django_user_model, agency_b):
    """Staff of agency B."""
    return member(django_user_model, "outsider", agency_b, "staff", is_staff=True)


@pytest.fixture
def library(db):
    """The measure library, as migrate loads it (loading again keeps the fixture in sync)."""
    from django.core.management import call_command

    call_command("loaddata", "fixtures/measure_library.json", verbosity=0)
