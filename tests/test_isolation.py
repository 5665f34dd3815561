"""A user of agency B asking for agency A's objects gets 403 or 404, never the data.

Table-driven over every portal route and every agency-scoped admin page, so that a
new route is covered by default (an unknown URL argument fails the test)."""

import pytest
from django.contrib import admin
from django.urls import reverse

from assessments import urls as assessment_urls
from assessments.admin import AgencyScopedAdmin
from plans import urls as plan_urls
from plans.models import Plan, Progress, ReviewComment
from plans.services import (
    measure_comment,
    plan_approve,
    plan_draft_from_assessment,
    plan_sign,
    plan_submit,
    progress_record,
)

SECRET = "พลสงคราม"
# Public by design (no login): tested in tests/test_public_page.py to list signed and published documents only.
PUBLIC_ROUTES = {"public_agency", "public_document", "verify", "verify_lookup"}


@pytest.fixture
def world(seed_assessment, other_assessment, owner, wg_member, mayor, outsider, library, tmp_path, settings):
    import datetime

    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    measure = plan.measures.first()
    measure_comment(plan=plan, user=wg_member, body="ความเห็นลับของหน่วยงาน ก", measure=measure)
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    plan_sign(plan=plan, user=mayor, signatory_name="นายสาธิต ระบบดี", signatory_position="นายก",
              announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568", meeting_date=datetime.date(2025, 9, 16))
    progress = progress_record(measure=measure, quarter=1, user=owner, status="done", note="หลักฐานของหน่วยงาน ก",
                               evidence_file=SimpleUploadedFile("proof.pdf", b"%PDF-1.4 secret"))
    from plans.models import BulkRenderJob

    job = BulkRenderJob.objects.create(user=mayor, kind="analysis", fiscal_year=2568, province="นครราชสีมา")
    return {"plan": plan, "assessment": seed_assessment, "agency": seed_assessment.agency, "progress": progress,
            "measure": measure, "comment": ReviewComment.objects.get(), "job": job}


# Which object a route's <pk> names; plans routes default to the plan.
PK_OF = {"draft": "assessment", "analysis_pdf": "assessment", "analysis_docx": "assessment", "analysis_edit": "assessment",
         "bulk_detail": "job", "bulk_download": "job"}
# Routes without an object: they may answer, but must not show agency A.
LISTS = {"home", "compare", "bulk"}


def portal_urls(world):
    """Every portal route, filled with agency A's objects."""
    values = {"code": world["agency"].code, "action": "approve", "progress_id": world["progress"].pk,
              "kind": "plan", "year": 2568, "measure_id": world["measure"].pk}
    urls = []
    for module in (plan_urls, assessment_urls):
        for pattern in module.urlpatterns:
            if pattern.name in PUBLIC_ROUTES:
                continue
            names = list(pattern.pattern.converters)
            unknown = set(names) - set(values) - {"pk"}
            assert not unknown, f"isolation test does not know how to fill {unknown} in {pattern.name}"
            kwargs = {name: values[name] for name in names if name != "pk"}
            if "pk" in names:
                kwargs["pk"] = world[PK_OF.get(pattern.name, "plan")].pk
            urls.append((pattern.name, reverse(f"{module.app_name}:{pattern.name}", kwargs=kwargs)))
    return urls


def test_it_hides_every_portal_page_of_another_agency(client, world, outsider):
    client.force_login(outsider)
    for name, url in portal_urls(world):
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"body": "x", "comment": "x", "measure": world["measure"].pk,
                                                    "quarter": 1, "status": "done"})
            body = response.content.decode()
            if name in ("home", "compare", "my_work"):  # listings of the user's own agencies
                assert response.status_code in (200, 302), url
                assert SECRET not in body, url
            else:
                assert response.status_code in (403, 404, 405), (method, url, response.status_code)
                assert SECRET not in body and "หน่วยงาน ก" not in body, (method, url)
    world["plan"].refresh_from_db()
    assert world["plan"].status == Plan.Status.SIGNED
    assert ReviewComment.objects.count() == 1
    assert Progress.objects.count() == 1


def scoped_admin_objects(world):
    from assessments.models import Score

    objects = {
        "assessment": world["assessment"],
        "plan": world["plan"],
        "score": Score.objects.filter(assessment=world["assessment"]).first(),
        "reviewcomment": world["comment"],
        "progress": world["progress"],
        "agencyunit": world["agency"].units.get_or_create(name="กองคลัง")[0],
    }
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, AgencyScopedAdmin):
            name = model._meta.model_name
            assert name in objects, f"isolation test has no agency-A object for the {name} admin"
            yield model, objects[name]


def test_it_hides_every_admin_page_of_another_agency(client, world, outsider):
    client.force_login(outsider)
    for model, obj in scoped_admin_objects(world):
        meta = model._meta
        for view in ("change", "history", "delete"):
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=[obj.pk])
            response = client.get(url)
            assert response.status_code in (403, 404), (url, response.status_code)
        changelist = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert SECRET not in changelist.content.decode(), meta.model_name
    agency_page = client.get(reverse("admin:assessments_agency_change", args=[world["agency"].pk]))
    assert agency_page.status_code in (302, 403, 404) and SECRET not in agency_page.content.decode()


def test_it_refuses_an_outsider_posting_scores_to_another_agency(client, world, outsider):
    client.force_login(outsider)
    url = reverse("admin:assessments_assessment_change", args=[world["assessment"].pk])
    response = client.post(url, {"notes": "x", "score_1": "10.00"})
    assert response.status_code in (403, 404)
    assert str(world["assessment"].scores.get(item__code="1").value) == "99.35"


def test_it_lets_the_owner_see_their_own_pages(client, world, owner):
    client.force_login(owner)
    assert client.get(reverse("plans:detail", args=[world["plan"].pk])).status_code == 200
    url = reverse("admin:assessments_assessment_change", args=[world["assessment"].pk])
    assert client.get(url).status_code == 200


def test_it_lets_a_provincial_officer_read_but_not_change(client, world, django_user_model):
    from assessments.models import Membership

    officer = django_user_model.objects.create_user("officer", password="pw", is_staff=True)
    Membership.objects.create(user=officer, role="provincial", province="นครราชสีมา")
    client.force_login(officer)
    assert client.get(reverse("plans:detail", args=[world["plan"].pk])).status_code == 200
    url = reverse("admin:assessments_assessment_change", args=[world["assessment"].pk])
    page = client.get(url)
    assert page.status_code == 200 and 'name="score_1"' not in page.content.decode()
    assert client.post(url, {"notes": "x", "score_1": "10.00"}).status_code == 403
