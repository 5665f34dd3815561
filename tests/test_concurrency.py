"""No lost updates: a save made from a copy older than the stored record is refused,
with a Thai message, and neither the first save nor the second user's input is lost."""

import datetime
from decimal import Decimal

import lxml.html
import pytest
from django.urls import reverse

from assessments.models import Score
from assessments.services import STALE_EDIT_MESSAGE, EditConflict, assessment_save_scores
from plans.models import Plan
from plans.services import (
    plan_approve,
    plan_draft_from_assessment,
    plan_request_changes,
    plan_revise,
    plan_sign,
    plan_submit,
)


def page_form(response):
    """What the browser would send back from the change form, unchanged (every input,
    hidden ones included), and the form's HTML for reading values back."""
    html = lxml.html.fromstring(response.content.decode())
    form = next(f for f in html.forms if f.get("id", "").endswith("_form"))
    data = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value)
    data["_save"] = ["1"]
    return data


def field_value(response, name):
    html = lxml.html.fromstring(response.content.decode())
    return html.get_element_by_id(f"id_{name}").value.strip()


def score(assessment, code):
    return Score.objects.get(assessment=assessment, item__code=code, part="").value


def assessment_url(assessment):
    return reverse("admin:assessments_assessment_change", args=[assessment.pk])


def plan_url(plan):
    return reverse("admin:plans_plan_change", args=[plan.pk])


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


def test_it_saves_the_score_page_and_bumps_the_version(client, owner, seed_assessment):
    client.force_login(owner)
    data = page_form(client.get(assessment_url(seed_assessment)))
    assert data["version"] == ["0"]
    data["score_i1"] = ["80.00"]
    response = client.post(assessment_url(seed_assessment), data)
    seed_assessment.refresh_from_db()
    assert response.status_code == 302
    assert score(seed_assessment, "i1") == Decimal("80.00")
    assert seed_assessment.version == 1


def test_it_refuses_a_stale_save_of_the_score_page_and_keeps_both_values(client, owner, seed_assessment):
    client.force_login(owner)
    stale = page_form(client.get(assessment_url(seed_assessment)))
    # Someone else saves first, from a page opened at the same time.
    first = page_form(client.get(assessment_url(seed_assessment)))
    first["score_i1"] = ["70.00"]
    assert client.post(assessment_url(seed_assessment), first).status_code == 302
    stale["score_i1"] = ["80.00"]
    stale["score_i2"] = ["60.00"]
    stale["notes"] = ["บันทึกจากหน้าที่เปิดค้างไว้"]
    response = client.post(assessment_url(seed_assessment), stale)
    seed_assessment.refresh_from_db()
    assert response.status_code == 200
    assert STALE_EDIT_MESSAGE in response.content.decode()
    assert (score(seed_assessment, "i1"), score(seed_assessment, "i2")) == (Decimal("70.00"), Decimal("100.00"))
    assert seed_assessment.notes == "" and seed_assessment.version == 1
    assert (field_value(response, "score_i1"), field_value(response, "score_i2")) == ("80.00", "60.00")
    assert field_value(response, "notes") == "บันทึกจากหน้าที่เปิดค้างไว้"


def test_it_refuses_the_score_page_after_a_save_through_the_service(client, owner, seed_assessment):
    client.force_login(owner)
    stale = page_form(client.get(assessment_url(seed_assessment)))
    assessment_save_scores(assessment=seed_assessment, values={("i1", ""): Decimal("70.00")}, user=owner)
    stale["score_i1"] = ["80.00"]
    response = client.post(assessment_url(seed_assessment), stale)
    assert STALE_EDIT_MESSAGE in response.content.decode()
    assert score(seed_assessment, "i1") == Decimal("70.00")


def test_it_refuses_a_stale_service_call_and_writes_nothing(seed_assessment):
    assessment_save_scores(assessment=seed_assessment, values={("i1", ""): Decimal("70.00")}, expected_version=0)
    with pytest.raises(EditConflict) as refused:
        assessment_save_scores(
            assessment=seed_assessment, values={("i1", ""): Decimal("80.00"), ("i2", ""): None}, expected_version=0
        )
    assert refused.value.messages == [STALE_EDIT_MESSAGE]
    assert score(seed_assessment, "i1") == Decimal("70.00")
    assert Score.objects.filter(assessment=seed_assessment, item__code="i2").exists()


def test_it_saves_a_plan_with_its_measures_in_the_admin(client, owner, plan):
    client.force_login(owner)
    data = page_form(client.get(plan_url(plan)))
    data["title"] = ["มาตรการฉบับแก้ไข"]
    data["measures-0-title"] = ["มาตรการที่แก้ไขแล้ว"]
    response = client.post(plan_url(plan), data)
    plan.refresh_from_db()
    assert response.status_code == 302
    assert (plan.title, plan.measures.first().title, plan.version) == ("มาตรการฉบับแก้ไข", "มาตรการที่แก้ไขแล้ว", 1)


def test_it_refuses_a_stale_plan_edit_and_keeps_both_versions(client, owner, plan):
    client.force_login(owner)
    stale = page_form(client.get(plan_url(plan)))
    first = page_form(client.get(plan_url(plan)))
    first["measures-0-title"] = ["มาตรการของผู้บันทึกก่อน"]
    assert client.post(plan_url(plan), first).status_code == 302
    stale["title"] = ["ชื่อแผนจากหน้าที่เปิดค้างไว้"]
    stale["measures-0-title"] = ["มาตรการจากหน้าที่เปิดค้างไว้"]
    response = client.post(plan_url(plan), stale)
    plan.refresh_from_db()
    assert response.status_code == 200
    assert STALE_EDIT_MESSAGE in response.content.decode()
    assert plan.measures.first().title == "มาตรการของผู้บันทึกก่อน"
    assert plan.title.startswith("มาตรการส่งเสริมคุณธรรม") and plan.version == 1
    assert field_value(response, "title") == "ชื่อแผนจากหน้าที่เปิดค้างไว้"
    assert field_value(response, "measures-0-title") == "มาตรการจากหน้าที่เปิดค้างไว้"


def test_it_refuses_an_admin_edit_opened_before_the_plan_was_submitted_and_sent_back(
    client, owner, wg_member, plan
):
    client.force_login(owner)
    stale = page_form(client.get(plan_url(plan)))
    plan_submit(plan=plan, user=owner)
    plan_request_changes(plan=plan, user=wg_member, comment="ปรับขั้นตอนให้ชัดเจน")
    stale["title"] = ["แก้จากหน้าที่เปิดก่อนเสนอ"]
    response = client.post(plan_url(plan), stale)
    plan.refresh_from_db()
    assert STALE_EDIT_MESSAGE in response.content.decode()
    assert plan.title != "แก้จากหน้าที่เปิดก่อนเสนอ"


def test_it_bumps_the_version_on_every_transition(plan, owner, wg_member, mayor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    versions = [plan.version]
    plan_submit(plan=plan, user=owner)
    versions.append(Plan.objects.get(pk=plan.pk).version)
    plan_request_changes(plan=plan, user=wg_member, comment="ขอรายละเอียดเพิ่ม")
    versions.append(Plan.objects.get(pk=plan.pk).version)
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    versions.append(Plan.objects.get(pk=plan.pk).version)
    plan_sign(plan=plan, user=mayor, signatory_name="นายสาธิต ระบบดี", signatory_position="นายก",
              announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568",
              meeting_date=datetime.date(2025, 9, 16))
    versions.append(Plan.objects.get(pk=plan.pk).version)
    assert versions == [0, 1, 2, 4, 5]
    assert plan.version == 5


def test_it_refuses_a_second_decision_taken_on_the_same_copy(plan, owner, wg_member):
    plan_submit(plan=plan, user=owner)
    first, second = Plan.objects.get(pk=plan.pk), Plan.objects.get(pk=plan.pk)
    plan_approve(plan=first, user=wg_member)
    with pytest.raises(EditConflict):
        plan_request_changes(plan=second, user=wg_member, comment="ส่งกลับ")
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.APPROVED


def test_it_refuses_a_transition_from_a_page_loaded_before_another(plan, owner):
    loaded = plan.version
    plan.title = "แก้ชื่อ"
    plan.save()
    Plan.objects.filter(pk=plan.pk).update(version=loaded + 1)  # saved elsewhere meanwhile
    with pytest.raises(EditConflict):
        plan_submit(plan=Plan.objects.get(pk=plan.pk), user=owner, expected_version=loaded)
    assert Plan.objects.get(pk=plan.pk).status == Plan.Status.DRAFT


def test_it_refuses_revising_the_same_signed_plan_twice_at_once(plan, owner, wg_member, mayor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    plan_sign(plan=plan, user=mayor, signatory_name="นายสาธิต ระบบดี", signatory_position="นายก",
              announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568",
              meeting_date=datetime.date(2025, 9, 16))
    first, second = Plan.objects.get(pk=plan.pk), Plan.objects.get(pk=plan.pk)
    plan_revise(plan=first, user=owner)
    with pytest.raises(EditConflict):
        plan_revise(plan=second, user=owner)
    assert Plan.objects.filter(previous=plan).count() == 1


def test_it_refuses_a_score_page_save_opened_before_an_import_that_changed_it(seed_assessment, other_assessment):
    from assessments.resources import import_scores

    header = "agency_code,agency_name,agency_type,province,district,fiscal_year,item,score\n"
    import_scores((header + "A001,,,,,2568,i1,81.50\n").encode())  # the import's upsert bumps the version

    with pytest.raises(EditConflict):
        assessment_save_scores(assessment=seed_assessment, values={("i1", ""): Decimal("70.00")}, expected_version=0)
    seed_assessment.refresh_from_db()
    other_assessment.refresh_from_db()
    assert (seed_assessment.version, score(seed_assessment, "i1")) == (1, Decimal("81.50"))
    assert other_assessment.version == 0  # not in the file
