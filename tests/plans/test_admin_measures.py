"""The plan's admin page by agency role: staff edit the measures of their own draft plan in
the measures inline; other roles and other states see them read-only (never a superuser)."""

import pytest
from django.urls import reverse

from plans.models import Measure, Plan
from plans.services import plan_draft_from_assessment, plan_submit
from tests.conftest import member
from tests.test_concurrency import page_form


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


def plan_url(plan):
    return reverse("admin:plans_plan_change", args=[plan.pk])


def test_it_lets_staff_edit_add_and_delete_measures_in_the_admin(client, owner, plan):
    client.force_login(owner)
    response = client.get(plan_url(plan))
    assert response.status_code == 200
    data = page_form(response)
    count = plan.measures.count()
    assert data["measures-TOTAL_FORMS"] == [str(count)]
    first, last = plan.measures.order_by("order", "pk")[0], plan.measures.order_by("order", "pk").last()
    data["measures-0-title"] = ["มาตรการที่เจ้าหน้าที่แก้ไข"]
    data[f"measures-{count - 1}-DELETE"] = ["on"]
    new = f"measures-{count}-"
    data["measures-TOTAL_FORMS"] = [str(count + 1)]
    data.update({
        new + "order": ["99"], new + "indicator": [str(first.indicator_id)], new + "band": ["improve"],
        new + "title": ["มาตรการใหม่จากเจ้าหน้าที่"], new + "quarters": ["1,2"],
    })
    response = client.post(plan_url(plan), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    first.refresh_from_db()
    assert first.title == "มาตรการที่เจ้าหน้าที่แก้ไข"
    assert not Measure.objects.filter(pk=last.pk).exists()
    assert plan.measures.filter(title="มาตรการใหม่จากเจ้าหน้าที่", order=99).exists()


@pytest.mark.parametrize("role", ["working_group", "signatory", "viewer"])
def test_it_shows_other_roles_the_measures_read_only(client, django_user_model, agency_a, plan, role):
    user = member(django_user_model, "u-" + role, agency_a, role, is_staff=True)
    client.force_login(user)
    response = client.get(plan_url(plan))
    assert response.status_code == 200
    body = response.content.decode()
    assert plan.measures.first().title[:30] in body
    assert "name=\"measures-0-title\"" not in body
    before = plan.measures.first().title
    client.post(plan_url(plan), {"title": "x", "measures-TOTAL_FORMS": "1", "measures-INITIAL_FORMS": "1",
                                 "measures-0-id": str(plan.measures.first().pk), "measures-0-title": "แก้โดยไม่มีสิทธิ์"})
    assert plan.measures.first().title == before


def test_it_shows_a_submitted_plan_read_only_even_to_staff(client, owner, plan):
    plan_submit(plan=plan, user=owner)
    client.force_login(owner)
    response = client.get(plan_url(plan))
    assert response.status_code == 200
    assert "name=\"measures-0-title\"" not in response.content.decode()
    assert Plan.objects.get(pk=plan.pk).status == "submitted"


def test_it_hides_another_agencys_plan_in_the_admin(client, outsider, plan):
    client.force_login(outsider)
    assert client.get(plan_url(plan)).status_code == 404
