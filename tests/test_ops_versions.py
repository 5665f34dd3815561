"""A save that omits the version the page was loaded with is refused (issue 11, item 6): the
optimistic lock cannot be checked without it. Every form with the lock: the assessment's
score page and the plan page (with its measures) in the admin."""

from decimal import Decimal

import lxml.html
import pytest

from assessments.admin import MISSING_VERSION_MESSAGE
from plans.services import plan_draft_from_assessment
from tests.test_concurrency import assessment_url, page_form, plan_url, score


def shown_above_the_form(response):
    html = lxml.html.fromstring(response.content.decode())
    return [li.text_content() for li in html.xpath("//ul[contains(@class, 'nonfield')]/li")]


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


@pytest.mark.parametrize("version", [None, "", "abc", "-1"])
def test_it_refuses_a_score_page_save_without_a_valid_version(client, owner, seed_assessment, version):
    client.force_login(owner)
    before = score(seed_assessment, "i1")
    data = page_form(client.get(assessment_url(seed_assessment)))
    if version is None:
        del data["version"]
    else:
        data["version"] = [version]
    data["score_i1"] = ["80.00"]
    data["notes"] = ["บันทึกที่ไม่มีฉบับ"]
    response = client.post(assessment_url(seed_assessment), data)
    assert response.status_code == 200
    assert shown_above_the_form(response) == [MISSING_VERSION_MESSAGE]
    seed_assessment.refresh_from_db()
    assert score(seed_assessment, "i1") == before != Decimal("80.00")
    assert seed_assessment.notes == "" and seed_assessment.version == 0


@pytest.mark.parametrize("version", [None, ""])
def test_it_refuses_a_plan_save_without_a_version(client, owner, plan, version):
    client.force_login(owner)
    data = page_form(client.get(plan_url(plan)))
    if version is None:
        del data["version"]
    else:
        data["version"] = [version]
    data["title"] = ["ชื่อแผนที่ไม่มีฉบับ"]
    response = client.post(plan_url(plan), data)
    assert response.status_code == 200
    assert shown_above_the_form(response) == [MISSING_VERSION_MESSAGE]
    plan.refresh_from_db()
    assert plan.title != "ชื่อแผนที่ไม่มีฉบับ" and plan.version == 0


def test_it_still_saves_a_plan_with_the_version_it_was_loaded_with(client, owner, plan):
    client.force_login(owner)
    data = page_form(client.get(plan_url(plan)))
    assert data["version"] == ["0"]
    data["title"] = ["ชื่อแผนฉบับแก้ไข"]
    assert client.post(plan_url(plan), data).status_code == 302
    plan.refresh_from_db()
    assert plan.title == "ชื่อแผนฉบับแก้ไข" and plan.version == 1


def test_it_does_not_ask_for_a_version_when_adding_an_assessment(client, owner, agency_a, fy2568):
    client.force_login(owner)
    response = client.post(
        "/admin/assessments/assessment/add/", {"agency": agency_a.pk, "fiscal_year": fy2568.pk, "notes": "", "_save": "1"}
    )
    assert response.status_code == 302
    assert agency_a.assessments.get().version >= 0
