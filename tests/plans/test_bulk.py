"""Bulk documents: every agency's analysis report or announcement of one year, in one
province or all, rendered by a background task into one ZIP (sequential path here)."""

import io
import zipfile

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from pypdf import PdfReader

from assessments.models import Agency, Membership
from plans import bulk, services
from plans.models import BulkRenderJob, Plan
from tests.conftest import make_assessment, member

KORAT, PHANGNGA = "นครราชสีมา", "พังงา"


@pytest.fixture(autouse=True)
def _immediate_sequential(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.BULK_RENDER_PROCESSES = 0


@pytest.fixture
def agency_c(db):
    return Agency.objects.create(
        code="C001", name="เทศบาลตำบลโนนสูง", agency_type=Agency.Type.SUBDISTRICT_MUNICIPALITY,
        district="โนนสูง", province=KORAT,
    )


@pytest.fixture
def three_assessments(seed_assessment, other_assessment, agency_c):
    figures = {(str(n), ""): "90.00" for n in range(1, 11)}
    return seed_assessment, other_assessment, make_assessment(agency_c, 2568, figures)


@pytest.fixture
def admin_user(db, django_user_model):
    return django_user_model.objects.create_superuser("root", password="pw")


@pytest.fixture
def officer(db, django_user_model):
    user = django_user_model.objects.create_user("korat", password="pw")
    Membership.objects.create(user=user, role=Membership.Role.PROVINCIAL, province=KORAT)
    return user


@pytest.fixture
def drafted(three_assessments, owner, outsider, library):
    """Plans drafted for A and B; C has none."""
    seed, other, _ = three_assessments
    plan_a, _ = services.plan_draft_from_assessment(assessment=seed, user=owner)
    plan_b, _ = services.plan_draft_from_assessment(assessment=other, user=outsider)
    return plan_a, plan_b


def start(user, kind, province=""):
    job = bulk.bulk_job_start(user=user, kind=kind, fiscal_year=2568, province=province)
    job.refresh_from_db()
    return job


def zip_members(job):
    with job.archive.open("rb") as f:
        archive = zipfile.ZipFile(io.BytesIO(f.read()))
        return {name: archive.read(name) for name in archive.namelist()}


def test_it_renders_every_agency_analysis_into_a_zip_of_pdfs(three_assessments, admin_user):
    job = start(admin_user, "analysis")
    files = zip_members(job)
    assert sorted(files) == ["A001-analysis-2568.pdf", "B001-analysis-2568.pdf", "C001-analysis-2568.pdf"]
    for data in files.values():
        assert data.startswith(b"%PDF")
        assert len(PdfReader(io.BytesIO(data)).pages) >= 1
    assert (job.status, job.total, job.done, job.failures) == ("done", 3, 3, [])
    assert job.finished_at is not None


def test_it_renders_the_announcements_and_reports_agencies_without_a_plan(drafted, admin_user):
    job = start(admin_user, "announcement")
    files = zip_members(job)
    assert sorted(files) == ["A001-announcement-2568.pdf", "B001-announcement-2568.pdf"]
    for data in files.values():
        assert data.startswith(b"%PDF")
        assert len(PdfReader(io.BytesIO(data)).pages) >= 1
    assert job.failures == [{"code": "C001", "name": "เทศบาลตำบลโนนสูง", "reason": "ยังไม่มีแผน"}]
    assert (job.status, job.total, job.done) == ("done", 3, 3)


def test_it_records_a_failed_render_without_stopping_the_rest(three_assessments, admin_user, monkeypatch):
    real = bulk.render_analysis

    def broken_for_b(assessment):
        if assessment.agency.code == "B001":
            raise RuntimeError("font missing")
        return real(assessment)

    monkeypatch.setattr(bulk, "render_analysis", broken_for_b)
    job = start(admin_user, "analysis")
    assert sorted(zip_members(job)) == ["A001-analysis-2568.pdf", "C001-analysis-2568.pdf"]
    [failure] = job.failures
    assert (failure["code"], failure["name"]) == ("B001", "เทศบาลตำบลคึกคัก")
    assert failure["reason"].startswith("สร้างเอกสารไม่สำเร็จ") and "font missing" in failure["reason"]
    assert (job.status, job.done) == ("done", 3)


def test_it_fails_the_job_when_nothing_renders(three_assessments, admin_user):
    job = start(admin_user, "announcement")
    assert job.status == "failed"
    assert not job.archive
    assert [f["reason"] for f in job.failures] == ["ยังไม่มีแผน"] * 3


def test_it_takes_the_signed_revision_for_the_announcement(drafted, admin_user):
    plan_a, _ = drafted
    Plan.objects.filter(pk=plan_a.pk).update(status=Plan.Status.SIGNED)
    Plan.objects.create(
        agency=plan_a.agency, assessment=plan_a.assessment, target_year=plan_a.target_year,
        revision=2, previous=plan_a, title=plan_a.title,
    )
    job = BulkRenderJob(user=admin_user, kind="announcement", fiscal_year=2568, province=KORAT)
    targets = {t.code: t.object_id for t in bulk.bulk_targets(job)}
    assert targets == {"A001": plan_a.pk, "C001": None}


def test_it_takes_the_latest_revision_when_none_is_signed(drafted, admin_user):
    plan_a, _ = drafted
    revision = Plan.objects.create(
        agency=plan_a.agency, assessment=plan_a.assessment, target_year=plan_a.target_year,
        revision=2, previous=plan_a, title=plan_a.title,
    )
    job = BulkRenderJob(user=admin_user, kind="announcement", fiscal_year=2568, province=KORAT)
    assert bulk.bulk_targets(job)[0].object_id == revision.pk


def test_it_renders_only_the_officers_province(three_assessments, officer, client):
    client.force_login(officer)
    response = client.post(reverse("plans:bulk"), {"kind": "analysis", "fiscal_year": "2568", "province": KORAT})
    job = BulkRenderJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("plans:bulk_detail", args=[job.pk])
    assert (job.user, job.province, job.status) == (officer, KORAT, "done")
    assert sorted(zip_members(job)) == ["A001-analysis-2568.pdf", "C001-analysis-2568.pdf"]


def test_it_offers_an_officer_only_their_province(three_assessments, officer, client):
    client.force_login(officer)
    page = client.get(reverse("plans:bulk")).content.decode()
    assert f'<option value="{KORAT}"' in page
    assert PHANGNGA not in page and "ทุกจังหวัด" not in page


def test_it_refuses_another_province_to_an_officer(three_assessments, officer, client):
    client.force_login(officer)
    response = client.post(reverse("plans:bulk"), {"kind": "analysis", "fiscal_year": "2568", "province": PHANGNGA})
    assert response.status_code == 200 and "province" in response.context["form"].errors
    with pytest.raises(PermissionDenied, match="จังหวัดของตนเอง"):
        bulk.bulk_job_start(user=officer, kind="analysis", fiscal_year=2568, province=PHANGNGA)
    with pytest.raises(PermissionDenied):
        bulk.bulk_job_start(user=officer, kind="analysis", fiscal_year=2568, province="")
    assert not BulkRenderJob.objects.exists()


def test_it_offers_a_superuser_every_province(three_assessments, admin_user, client):
    client.force_login(admin_user)
    page = client.get(reverse("plans:bulk")).content.decode()
    assert '<option value="" selected>ทุกจังหวัด</option>' in page
    assert f'<option value="{KORAT}"' in page and f'<option value="{PHANGNGA}"' in page


def test_it_refuses_a_year_without_assessments(three_assessments, admin_user):
    with pytest.raises(ValidationError, match="ไม่พบผลการประเมินปีงบประมาณ 2567"):
        bulk.bulk_job_start(user=admin_user, kind="analysis", fiscal_year=2567, province="")


def test_it_refuses_users_without_the_role(three_assessments, owner, client):
    client.force_login(owner)
    for response in (
        client.get(reverse("plans:bulk")),
        client.post(reverse("plans:bulk"), {"kind": "analysis", "fiscal_year": "2568", "province": KORAT}),
    ):
        assert response.status_code == 403
        assert "เฉพาะผู้ดูแลระบบและเจ้าหน้าที่ระดับจังหวัด" in response.content.decode()
    assert not BulkRenderJob.objects.exists()


def test_it_requires_login(client):
    response = client.get(reverse("plans:bulk"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_it_serves_the_zip_to_its_owner_and_a_superuser(three_assessments, officer, admin_user, client):
    job = start(officer, "analysis", KORAT)
    for user in (officer, admin_user):
        client.force_login(user)
        response = client.get(reverse("plans:bulk_download", args=[job.pk]))
        assert response.status_code == 200 and response["Content-Type"] == "application/zip"
        names = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))).namelist()
        assert sorted(names) == ["A001-analysis-2568.pdf", "C001-analysis-2568.pdf"]


def test_it_hides_the_job_and_its_zip_from_another_user(three_assessments, officer, django_user_model, client):
    job = start(officer, "analysis", KORAT)
    colleague = member(django_user_model, "colleague", None)
    Membership.objects.create(user=colleague, role=Membership.Role.PROVINCIAL, province=KORAT)
    client.force_login(colleague)
    assert client.get(reverse("plans:bulk_download", args=[job.pk])).status_code == 404
    assert client.get(reverse("plans:bulk_detail", args=[job.pk])).status_code == 404


def test_it_shows_progress_while_running(officer, client):
    job = BulkRenderJob.objects.create(
        user=officer, kind="analysis", fiscal_year=2568, province=KORAT, status="running", total=4, done=1,
        failures=[{"code": "C001", "name": "เทศบาลตำบลโนนสูง", "reason": "ยังไม่มีแผน"}],
    )
    client.force_login(officer)
    page = client.get(reverse("plans:bulk_detail", args=[job.pk])).content.decode()
    assert '<progress class="progress-bar" value="1" max="4"' in page
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "ดำเนินการแล้ว 1 จาก 4 หน่วยงาน (25%)" in page
    assert "เทศบาลตำบลโนนสูง" in page and "ยังไม่มีแผน" in page
    assert reverse("plans:bulk_download", args=[job.pk]) not in page


def test_it_stops_refreshing_and_links_the_zip_when_done(three_assessments, officer, client):
    job = start(officer, "analysis", KORAT)
    client.force_login(officer)
    page = client.get(reverse("plans:bulk_detail", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page
    assert reverse("plans:bulk_download", args=[job.pk]) in page


def test_it_lists_the_users_recent_jobs(officer, admin_user, client):
    mine = BulkRenderJob.objects.create(user=officer, kind="analysis", fiscal_year=2568, province=KORAT)
    theirs = BulkRenderJob.objects.create(user=admin_user, kind="announcement", fiscal_year=2568)
    client.force_login(officer)
    page = client.get(reverse("plans:bulk")).content.decode()
    assert reverse("plans:bulk_detail", args=[mine.pk]) in page
    assert reverse("plans:bulk_detail", args=[theirs.pk]) not in page
