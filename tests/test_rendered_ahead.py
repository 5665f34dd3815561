"""Documents rendered ahead (plans.prerender): rendered in the background when their data
changes, stored with the hash of their inputs, served byte for byte with an ETag, never
served once the inputs changed; a document not yet ready answers with a page that reloads."""

import zipfile
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_tasks.signals import task_enqueued

from assessments.models import AnalysisText, FrameworkItem
from assessments.services import assessment_save_scores
from plans import bulk, prerender, services
from plans.models import BulkRenderJob, Plan, RenderedDocument

DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def _render_ahead(settings):
    settings.DOCUMENTS_RENDER_AHEAD = True


@pytest.fixture(autouse=True)
def _empty_cache():
    # The download remembers for a minute which renders it enqueued.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def renders(monkeypatch):
    """Replace the renderer with one that counts its calls and returns distinct fake bytes."""
    calls = []

    def fake(kind, obj, fmt="pdf"):
        calls.append((kind, obj.pk, fmt))
        return f"%PDF-fake {kind} {obj.pk} {fmt} #{len(calls)}".encode()

    monkeypatch.setattr(prerender, "render_fresh", fake)
    return calls


@pytest.fixture
def enqueued():
    """(task name, args) of every task enqueued during the test."""
    calls = []

    def record(sender, task_result, **kwargs):
        calls.append((task_result.task.name, list(task_result.args)))

    task_enqueued.connect(record)
    yield calls
    task_enqueued.disconnect(record)


@pytest.fixture
def plan(seed_assessment, owner, library):
    plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    return Plan.objects.select_related("agency", "assessment__fiscal_year").get(pk=plan.pk)


def analysis_url(assessment, fmt="pdf"):
    return reverse(f"assessments:analysis_{fmt}", args=[assessment.pk])


def stored(kind, obj, fmt="pdf"):
    return RenderedDocument.objects.filter(kind=kind, object_id=obj.pk, format=fmt).first()


def test_it_stores_the_analysis_in_the_background_when_a_score_is_saved(
    seed_assessment, owner, renders, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assessment_save_scores(assessment=seed_assessment, values={("1", ""): Decimal("98.00")}, user=owner)
    document = stored("analysis", seed_assessment)
    assert document.inputs_hash == prerender.document_inputs_hash("analysis", seed_assessment)
    assert bytes(document.data).startswith(b"%PDF-fake analysis")
    assert stored("analysis", seed_assessment, "docx") is not None


def test_it_renders_nothing_ahead_when_turned_off(
    seed_assessment, owner, renders, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.DOCUMENTS_RENDER_AHEAD = False
    with django_capture_on_commit_callbacks(execute=True):
        assessment_save_scores(assessment=seed_assessment, values={("1", ""): Decimal("98.00")}, user=owner)
    assert enqueued == [] and renders == []


def test_it_enqueues_the_plan_documents_when_the_plan_is_submitted_and_approved(
    client, plan, owner, wg_member, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.TASKS = DB_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=plan, user=owner)
    documents = sorted(args for name, args in enqueued if name == "prerender_document")
    assert documents == sorted(
        [[kind, plan.pk, fmt] for kind in ("plan", "announcement") for fmt in ("pdf", "docx")]
    )
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_approve(plan=plan, user=wg_member)
    assert ["plan", plan.pk, "pdf"] in [args for _, args in enqueued]
    # Nothing is stored until a worker runs the tasks.
    assert not RenderedDocument.objects.exists()


def test_it_stores_the_progress_report_when_progress_is_recorded(
    plan, owner, renders, django_capture_on_commit_callbacks
):
    Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.SIGNED)
    plan.refresh_from_db()
    measure = plan.measures.first()
    with django_capture_on_commit_callbacks(execute=True):
        services.progress_record(measure=measure, quarter=1, user=owner, status="done", note="จัดอบรมแล้ว")
    assert stored("progress", plan).inputs_hash == prerender.document_inputs_hash("progress", plan)
    # The signed announcement is the one stored at signing: never rendered ahead.
    assert stored("announcement", plan) is None


def test_it_serves_the_stored_bytes_with_an_etag_without_rendering(client, seed_assessment, owner, monkeypatch):
    monkeypatch.setattr(prerender, "render_fresh", lambda *a, **k: b"%PDF-stored analysis")
    prerender.document_prerender("analysis", seed_assessment)
    monkeypatch.setattr(prerender, "render_fresh", lambda *a, **k: pytest.fail("rendered again"))
    client.force_login(owner)
    response = client.get(analysis_url(seed_assessment))
    assert response.status_code == 200
    assert response.content == b"%PDF-stored analysis"
    assert response["Content-Type"] == "application/pdf"
    assert response["ETag"] == f'"{prerender.document_inputs_hash("analysis", seed_assessment)}"'


def test_it_answers_304_when_the_browser_holds_the_current_document(client, seed_assessment, owner, renders):
    client.force_login(owner)
    first = client.get(analysis_url(seed_assessment))
    assert first.status_code == 200 and len(renders) == 1
    again = client.get(analysis_url(seed_assessment), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]
    assert len(renders) == 1
    # An older copy is not "current".
    stale = client.get(analysis_url(seed_assessment), HTTP_IF_NONE_MATCH='"0000"')
    assert stale.status_code == 200 and stale.content == first.content


def test_it_never_serves_the_old_bytes_after_a_score_change(client, seed_assessment, owner, renders, settings):
    client.force_login(owner)
    old = client.get(analysis_url(seed_assessment))
    assert old.status_code == 200
    # The score page saves, but the background render has not run yet (no commit in this test).
    assessment_save_scores(assessment=seed_assessment, values={("1", ""): Decimal("70.00")}, user=owner)
    settings.TASKS = DB_BACKEND
    waiting = client.get(analysis_url(seed_assessment))
    assert waiting.status_code == 202
    assert old.content not in waiting.content
    assert bytes(stored("analysis", seed_assessment).data) == old.content  # still there, never served (PostgreSQL gives a memoryview)
    # With a worker that runs at once (the immediate backend), the next refresh renders it.
    cache.clear()
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    new = client.get(analysis_url(seed_assessment))
    assert new.status_code == 200
    assert new.content != old.content and new["ETag"] != old["ETag"]
    assert bytes(stored("analysis", seed_assessment).data) == new.content


def test_it_shows_a_self_refreshing_page_until_the_document_is_ready(
    client, seed_assessment, owner, renders, settings, enqueued
):
    settings.TASKS = DB_BACKEND
    client.force_login(owner)
    response = client.get(analysis_url(seed_assessment))
    assert response.status_code == 202
    text = response.content.decode()
    assert '<meta http-equiv="refresh" content="2">' in text
    assert "กำลังจัดทำเอกสาร" in text and "ita-analysis-A001-2568.pdf" in text
    assert response["Cache-Control"] == "no-store"
    assert enqueued == [("prerender_document", ["analysis", seed_assessment.pk, "pdf"])]
    # A refresh two seconds later does not enqueue the same render again.
    assert client.get(analysis_url(seed_assessment)).status_code == 202
    assert len(enqueued) == 1
    # The worker runs the task; the next refresh gets the document.
    assert prerender.document_prerender_by_id("analysis", seed_assessment.pk, "pdf") is True
    ready = client.get(analysis_url(seed_assessment))
    assert ready.status_code == 200 and ready.content.startswith(b"%PDF-fake analysis")


def test_it_serves_the_plan_documents_and_their_word_copies_from_storage(client, plan, owner, renders):
    client.force_login(owner)
    for kind in ("plan", "announcement"):
        for fmt in ("pdf", "docx"):
            url = reverse("plans:document" if fmt == "pdf" else "plans:document_docx", args=[plan.pk, kind])
            first = client.get(url)
            second = client.get(url)
            assert first.status_code == second.status_code == 200
            assert first.content == second.content == bytes(stored(kind, plan, fmt).data)
    assert len(renders) == 4


def test_it_gives_an_outsider_404_and_renders_nothing(client, seed_assessment, plan, outsider, renders, enqueued):
    client.force_login(outsider)
    assert client.get(analysis_url(seed_assessment)).status_code == 404
    assert client.get(analysis_url(seed_assessment, "docx")).status_code == 404
    assert client.get(reverse("plans:document", args=[plan.pk, "plan"])).status_code == 404
    assert client.get(reverse("plans:document_docx", args=[plan.pk, "progress"])).status_code == 404
    assert renders == [] and enqueued == []
    assert not RenderedDocument.objects.exists()


def test_it_reuses_stored_documents_in_the_bulk_zip_and_renders_only_what_changed(
    seed_assessment, other_assessment, owner, settings, monkeypatch, django_user_model
):
    settings.BULK_RENDER_PROCESSES = 0
    calls = []

    def counting(assessment):
        calls.append(assessment.pk)
        return f"%PDF-bulk {assessment.pk} #{len(calls)}".encode()

    monkeypatch.setattr(bulk, "render_analysis", counting)
    admin = django_user_model.objects.create_superuser("root", password="pw")

    def run():
        job = BulkRenderJob.objects.create(user=admin, kind="analysis", fiscal_year=2568)
        job = bulk.bulk_job_run(job_id=job.pk)
        with zipfile.ZipFile(job.archive.open("rb")) as archive:
            return {name: archive.read(name) for name in archive.namelist()}

    first = run()
    assert sorted(calls) == sorted([seed_assessment.pk, other_assessment.pk])
    second = run()
    assert second == first and len(calls) == 2  # nothing rendered: both stored and current
    # A's own analysis text changes: only A's report is laid out again.
    AnalysisText.objects.create(
        assessment=seed_assessment, item=FrameworkItem.objects.get(fiscal_year__year=2568, code="1"), text="บทวิเคราะห์ใหม่"
    )
    third = run()
    assert calls[2:] == [seed_assessment.pk]
    assert third["A001-analysis-2568.pdf"] != first["A001-analysis-2568.pdf"]
    assert third["B001-analysis-2568.pdf"] == first["B001-analysis-2568.pdf"]
    # A score of A changes the year's national average that B's report prints: both again.
    assessment_save_scores(assessment=seed_assessment, values={("1", ""): Decimal("70.00")}, user=owner)
    run()
    assert sorted(calls[3:]) == sorted([seed_assessment.pk, other_assessment.pk])


def test_it_enqueues_the_changed_assessments_once_an_import_commits(
    seed_assessment, other_assessment, agency_b, tmp_path, settings, enqueued, django_capture_on_commit_callbacks
):
    from assessments.resources import import_scores
    from tests.assessments.test_import import row, write_csv

    settings.TASKS = DB_BACKEND
    # B's indicator 1 changes; A's file figures are the ones already stored (nothing changes).
    path = write_csv(tmp_path, [row("1", "81.00", code="B001"), row("1", "99.35", code="A001")])
    with django_capture_on_commit_callbacks(execute=True):
        import_scores(str(path))
    assert enqueued == [("prerender_document", ["analysis", other_assessment.pk, "pdf"]),
                        ("prerender_document", ["analysis", other_assessment.pk, "docx"])]


def test_it_hands_a_large_import_to_one_task_that_enqueues_in_the_worker(
    seed_assessment, other_assessment, tmp_path, settings, enqueued, django_capture_on_commit_callbacks
):
    from assessments.resources import import_scores
    from tests.assessments.test_import import row, write_csv

    settings.TASKS = DB_BACKEND
    path = write_csv(tmp_path, [row("1", "81.00", code="B001"), row("1", "97.00", code="A001")])
    with django_capture_on_commit_callbacks(execute=True):
        import_scores(str(path))
    [(name, (assessment_ids, plan_ids))] = enqueued
    assert name == "prerender_many"
    assert sorted(assessment_ids) == sorted([seed_assessment.pk, other_assessment.pk]) and plan_ids == []


def test_it_enqueues_the_documents_of_a_newly_drafted_plan(
    seed_assessment, owner, library, settings, enqueued, django_capture_on_commit_callbacks
):
    settings.TASKS = DB_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    assert ("prerender_document", ["plan", plan.pk, "pdf"]) in enqueued
    assert ("prerender_document", ["announcement", plan.pk, "docx"]) in enqueued
    assert not any(args[0] == "progress" for _, args in enqueued)  # not signed: no progress report


def test_it_stores_the_analysis_again_when_staff_edit_its_text(
    client, seed_assessment, owner, renders, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    before = client.get(analysis_url(seed_assessment)).content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("assessments:analysis_edit", args=[seed_assessment.pk]), {"text_1": "ข้อความใหม่"})
    assert response.status_code == 302
    document = stored("analysis", seed_assessment)
    assert document.inputs_hash == prerender.document_inputs_hash("analysis", seed_assessment)
    assert bytes(document.data) != before


def test_it_starts_no_render_process_when_every_document_of_the_zip_is_stored(
    seed_assessment, other_assessment, settings, monkeypatch, django_user_model
):
    for assessment in (seed_assessment, other_assessment):
        prerender.document_prerender("analysis", assessment)
    settings.BULK_RENDER_PROCESSES = 2

    def no_pool(processes):
        raise AssertionError("a process pool was started for stored documents")

    monkeypatch.setattr(bulk, "_new_pool", no_pool)
    admin = django_user_model.objects.create_superuser("root", password="pw")
    job = bulk.bulk_job_run(job_id=BulkRenderJob.objects.create(user=admin, kind="analysis", fiscal_year=2568).pk)
    with zipfile.ZipFile(job.archive.open("rb")) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    assert sorted(files) == ["A001-analysis-2568.pdf", "B001-analysis-2568.pdf"]
    assert files["A001-analysis-2568.pdf"] == bytes(
        RenderedDocument.objects.get(kind="analysis", object_id=seed_assessment.pk, format="pdf").data
    )
    assert (job.status, job.failures) == ("done", [])


def test_it_renders_the_documents_again_when_staff_rename_their_agency(
    client, plan, owner, renders, django_capture_on_commit_callbacks
):
    from django.contrib.auth.models import Permission

    owner.user_permissions.add(Permission.objects.get(codename="change_agency"))
    agency = plan.agency
    prerender.document_prerender("analysis", plan.assessment)
    old_hash = stored("analysis", plan.assessment).inputs_hash
    client.force_login(owner)
    data = {
        "code": agency.code, "name": "องค์การบริหารส่วนตำบลชื่อใหม่", "agency_type": agency.agency_type,
        "district": agency.district, "province": agency.province, "table_digits": agency.table_digits,
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:assessments_agency_change", args=[agency.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    analysis = stored("analysis", plan.assessment)
    assert analysis.inputs_hash != old_hash
    assert analysis.inputs_hash == prerender.document_inputs_hash("analysis", plan.assessment)
    assert stored("plan", plan).inputs_hash == prerender.document_inputs_hash("plan", plan)


def test_it_renders_the_plan_documents_again_when_staff_add_a_unit(
    client, plan, owner, renders, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:plans_agencyunit_add"), {"agency": plan.agency_id, "name": "กองสวัสดิการสังคม", "order": 9}
        )
    assert response.status_code == 302
    assert stored("plan", plan).inputs_hash == prerender.document_inputs_hash("plan", plan)
    assert stored("announcement", plan, "docx").inputs_hash == prerender.document_inputs_hash(
        "announcement", plan, "docx")
