"""The home page (หน่วยงานของฉัน): the user's agencies with their latest result and plan."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import Agency, Membership
from plans.models import Plan
from tests.conftest import make_assessment, page_html

KORAT = "นครราชสีมา"


def indicators(value):
    return {(str(n), ""): value for n in range(1, 11)}


@pytest.fixture
def provincial(db, django_user_model):
    user = django_user_model.objects.create_user("korat", password="pw")
    Membership.objects.create(user=user, role=Membership.Role.PROVINCIAL, province=KORAT)
    return user


def home(client, user):
    return page_html(client, user, reverse("plans:home"))


def row_of(html, name):
    start = html.index(f">{name}</a>")
    return html[html.rindex("<tr>", 0, start):html.index("</tr>", start)]


def test_it_shows_each_agency_with_its_latest_result_and_latest_plan(client, owner, agency_a, seed_assessment):
    older = make_assessment(agency_a, 2567, indicators("80.00"))
    Plan.objects.create(agency=agency_a, assessment=older, target_year=2568, title="แผนเก่า", status=Plan.Status.SIGNED)
    latest = Plan.objects.create(agency=agency_a, assessment=seed_assessment, target_year=2569, title="แผน")
    row = row_of(home(client, owner), agency_a.name)
    assert f'href="{reverse("plans:agency", args=["A001"])}"' in row
    assert "ปี 2568: 92.27" in row and "ผ่านดี" in row
    assert f'<a href="{reverse("plans:detail", args=[latest.pk])}">ปี 2569</a> <span class="status status-draft">ร่าง</span>' in row


def test_it_shows_a_dash_for_an_agency_without_result_or_plan(client, owner, agency_a):
    row = row_of(home(client, owner), agency_a.name)
    assert row.count(">-</td>") == 3


def test_it_lists_only_the_agencies_the_user_may_see(client, provincial, agency_a, agency_b):
    html = home(client, provincial)
    assert agency_a.name in html and agency_b.name not in html


def test_it_sends_anonymous_users_to_the_login_page(client, db):
    response = client.get(reverse("plans:home"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_loads_in_the_same_number_of_queries_whatever_the_number_of_agencies_years_and_plans(
    client, provincial, agency_a
):
    make_assessment(agency_a, 2568, indicators("90.00"))
    client.force_login(provincial)
    client.get(reverse("plans:home"))  # warm (session, content types)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("plans:home"))
    for n in range(8):
        other = Agency.objects.create(code=f"X{n:03d}", name=f"หน่วยงาน {n}", agency_type=Agency.Type.SAO, province=KORAT)
        for year in (2567, 2568):
            assessment = make_assessment(other, year, indicators("85.00"))
            Plan.objects.create(agency=other, assessment=assessment, target_year=year + 1, title="แผน")
    with CaptureQueriesContext(connection) as many:
        html = client.get(reverse("plans:home")).content.decode()
    assert html.count("ปี 2568: 85.00") == 8 and html.count(">ปี 2569</a>") == 8
    assert len(many) == len(few) <= 8
