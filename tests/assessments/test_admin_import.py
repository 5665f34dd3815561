"""Importing scores through the admin: preview (counts, every problem, a sample), confirm,
background import of large files with a progress page, and the ImportBatch of every import."""

import hashlib
import io
import re
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tasks.signals import task_enqueued

from assessments.models import Agency, Assessment, ImportBatch, Score
from tests.seed_figures import SEED_000

HEADER = "agency_code,agency_name,agency_type,province,district,fiscal_year,item,score\n"
A001 = "A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2568"
WIDE_ITEMS = ["overall", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(client, content, name="scores.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(reverse("admin:assessments_score_import"), {"import_file": SimpleUploadedFile(name, data)})


def confirm(client, preview):
    batch = preview.context["confirm_form"]["batch"].value()
    return client.post(reverse("admin:assessments_score_process_import"), {"batch": batch})


def wide_xlsx():
    """Seed 000's overall and indicators, one row, as Excel stores numbers: floats."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["รหัสหน่วยงาน", "ชื่อหน่วยงาน", "ปีงบประมาณ", *WIDE_ITEMS])
    sheet.append(["A001", "องค์การบริหารส่วนตำบลพลสงคราม", 2568, *(float(SEED_000[c, ""]) for c in WIDE_ITEMS)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def database_state():
    return (
        Agency.objects.count(),
        sorted(Assessment.objects.values_list("id", "overall", "level", "urgent_indicator_count")),
        sorted(Score.objects.values_list("id", "assessment_id", "item_id", "part", "value")),
    )


def test_it_refuses_a_file_with_a_row_for_another_agency_as_a_whole(client, owner, seed_assessment, other_assessment):
    client.force_login(owner)
    before = other_assessment.scores.get(item__code="1").value
    content = HEADER + (
        f"{A001},1,90.00\n"
        "B001,เทศบาลตำบลคึกคัก,เทศบาลตำบล,พังงา,ตะกั่วป่า,2568,1,10.00\n"
    )
    response = upload(client, content)
    html = response.content.decode()
    assert "ไม่มีสิทธิ์นำเข้าคะแนนของหน่วยงานรหัส B001" in html
    assert response.context.get("confirm_form") is None
    assert other_assessment.scores.get(item__code="1").value == before
    assert seed_assessment.scores.get(item__code="1").value == Decimal("99.35")


def test_it_previews_then_imports_a_file_for_the_users_own_agency(client, owner, seed_assessment):
    client.force_login(owner)
    preview = upload(client, HEADER + f"{A001},1,90.00\n")
    assert seed_assessment.scores.get(item__code="1").value == Decimal("99.35")  # preview writes nothing

    confirm(client, preview)

    assert seed_assessment.scores.get(item__code="1").value == Decimal("90.00")


def test_it_hides_the_import_from_users_without_the_staff_role(client, wg_member, seed_assessment):
    wg_member.is_staff = True  # may open the admin, but holds no staff role in any agency
    wg_member.save()
    client.force_login(wg_member)
    assert client.get(reverse("admin:assessments_score_import")).status_code == 403
    changelist = client.get(reverse("admin:assessments_score_changelist")).content.decode()
    assert reverse("admin:assessments_score_import") not in changelist


@pytest.mark.parametrize("score", ["101", "abc"])
def test_it_names_the_bad_row_in_the_admin(client, owner, seed_assessment, score):
    client.force_login(owner)
    response = upload(client, HEADER + f"{A001},i1,{score}\n")
    assert [(p.row, p.column) for p in response.context["problems"]] == [(2, "score")]
    assert seed_assessment.scores.get(item__code="i1").value == Decimal("98.06")


def test_it_previews_a_wide_xlsx_with_counts(client, owner, agency_a):
    client.force_login(owner)

    response = upload(client, wide_xlsx(), name="ita-2568.xlsx")

    plan = response.context["plan"]
    assert (plan.layout, plan.new, plan.updated, plan.unchanged) == ("wide", 11, 0, 0)
    assert plan.assessments_new == 1
    assert "ยืนยันนำเข้า" in response.content.decode()
    assert not Assessment.objects.exists()


def test_it_imports_a_confirmed_wide_xlsx_exactly(client, owner, agency_a):
    client.force_login(owner)

    response = confirm(client, upload(client, wide_xlsx(), name="ita-2568.xlsx"))

    assessment = Assessment.objects.get(agency=agency_a, fiscal_year__year=2568)
    stored = dict(assessment.scores.values_list("item__code", "value"))
    assert stored == {code: Decimal(SEED_000[code, ""]) for code in WIDE_ITEMS}
    assert (assessment.overall, assessment.level) == (Decimal("92.27"), "ผ่านดี")
    batch = ImportBatch.objects.get()
    assert response.url == reverse("admin:assessments_score_import_batch", args=[batch.pk])


def test_it_changes_nothing_when_the_same_xlsx_is_imported_again(client, owner, agency_a):
    client.force_login(owner)
    confirm(client, upload(client, wide_xlsx(), name="ita-2568.xlsx"))
    before = database_state()

    preview = upload(client, wide_xlsx(), name="ita-2568.xlsx")
    confirm(client, preview)

    plan = preview.context["plan"]
    assert (plan.new, plan.updated, plan.unchanged) == (0, 0, 11)
    assert database_state() == before
    assert ImportBatch.objects.order_by("-pk").values_list("status", "unchanged").first() == ("done", 11)


def test_it_lists_every_bad_row_with_its_column_and_writes_nothing(client, owner, seed_assessment):
    client.force_login(owner)
    before = database_state()
    content = HEADER + (
        f"{A001},overall,90.00\n"
        f"{A001},1,101\n"
        f"{A001},x99,50.00\n"
        "A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2599,2,80.00\n"
    )

    response = upload(client, content)

    problems = [(p.row, p.column, p.letter) for p in response.context["problems"]]
    assert problems == [(3, "score", "H"), (4, "item", "G"), (5, "fiscal_year", "F")]
    html = response.content.decode()
    assert "คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ 101)" in html
    assert "ไม่มีรายการ x99 ในกรอบการประเมินปีงบประมาณ 2568" in html
    assert "ไม่มีปีงบประมาณ 2599 ในระบบ" in html
    assert response.context.get("confirm_form") is None
    assert database_state() == before


def test_it_records_a_refused_file_as_a_failed_batch(client, owner, seed_assessment):
    client.force_login(owner)

    upload(client, HEADER + f"{A001},1,101\n{A001},2,abc\n{A001},3,-1\n")

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.FAILED
    assert [e["row"] for e in batch.errors] == [2, 3, 4]
    assert not batch.file


def test_it_records_one_import_batch_per_import(client, owner, seed_assessment):
    client.force_login(owner)
    content = HEADER + f"{A001},1,90.00\n{A001},2,100.00\n"

    confirm(client, upload(client, content))

    batch = ImportBatch.objects.get()
    assert (batch.user, batch.status, batch.sha256) == (
        owner, ImportBatch.Status.DONE, hashlib.sha256(content.encode()).hexdigest()
    )
    assert (batch.rows, batch.new, batch.updated, batch.unchanged, batch.percent) == (2, 0, 1, 1, 100)
    assert batch.finished_at is not None


def test_it_confirms_a_batch_only_once(client, owner, seed_assessment):
    client.force_login(owner)
    preview = upload(client, HEADER + f"{A001},1,90.00\n")
    confirm(client, preview)

    again = confirm(client, preview)

    page = client.get(again.url).content.decode()
    assert "ยืนยันการนำเข้าไปแล้ว" in page
    assert ImportBatch.objects.get().updated == 1


@pytest.fixture
def enqueued():
    """The args of every task enqueued during the test."""
    seen = []

    def record(sender, task_result, **kwargs):
        seen.append(task_result.args)

    task_enqueued.connect(record)
    yield seen
    task_enqueued.disconnect(record)


def test_it_runs_a_large_file_as_a_background_task(client, owner, seed_assessment, settings, enqueued):
    settings.IMPORT_SYNC_MAX_ROWS = 5
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    client.force_login(owner)
    items = ["1", "2", "3", "4", "5", "6"]
    preview = upload(client, HEADER + "".join(f"{A001},{code},80.00\n" for code in items))
    batch_id = preview.context["batch"].pk
    assert "ระบบจะนำเข้าเบื้องหลัง" in preview.content.decode()

    response = confirm(client, preview)

    assert enqueued == [[batch_id]]
    page = client.get(response.url)
    assert "นำเข้าสำเร็จ" in page.content.decode()
    assert "refresh" not in page.content.decode()
    batch = ImportBatch.objects.get(pk=batch_id)
    assert (batch.status, batch.updated, batch.processed) == ("done", 6, 6)
    assert set(seed_assessment.scores.filter(item__code__in=items).values_list("value", flat=True)) == {
        Decimal("80.00")
    }


def test_it_shows_progress_with_a_meta_refresh_and_no_inline_script(client, owner):
    client.force_login(owner)
    batch = ImportBatch.objects.create(
        user=owner, file_name="ita-2568.csv", sha256="0" * 64, status="running", rows=91487, processed=36595
    )

    html = client.get(reverse("admin:assessments_score_import_batch", args=[batch.pk])).content.decode()

    assert '<meta http-equiv="refresh" content="2">' in html
    assert '<progress max="100" value="40">' in html
    assert "36,595 จาก 91,487" in html
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []


def test_it_keeps_an_import_batch_to_its_user(client, owner, outsider):
    batch = ImportBatch.objects.create(user=owner, file_name="a.csv", sha256="0" * 64, status="done")
    client.force_login(outsider)

    response = client.get(reverse("admin:assessments_score_import_batch", args=[batch.pk]))

    assert response.status_code == 404


def test_it_shows_a_sample_of_changes_not_every_row(client, admin_user):
    client.force_login(admin_user)
    rows = "".join(
        f"N{n:03d},อบต.ทดสอบ{n},อบต.,ขอนแก่น,เมือง,2568,{code},90.00\n" for n in range(8) for code in WIDE_ITEMS
    )

    response = upload(client, HEADER + rows)

    assert response.context["plan"].new == 88
    assert [c.row for c in response.context["plan"].sample] == list(range(2, 52))
    assert response.content.decode().count('class="kind-new"') == 50


def test_it_shows_the_write_step_once_every_figure_is_checked(client, owner):
    client.force_login(owner)
    batch = ImportBatch.objects.create(
        user=owner, file_name="ita-2568.csv", sha256="0" * 64, status="running", rows=91487, processed=91487
    )

    html = client.get(reverse("admin:assessments_score_import_batch", args=[batch.pk])).content.decode()

    assert "ขั้นที่ 2 บันทึกลงฐานข้อมูล: <progress max=\"100\">" in html
    assert '<meta http-equiv="refresh" content="2">' in html


def test_it_lists_the_users_recent_imports_on_the_import_page(client, owner, outsider):
    ImportBatch.objects.create(user=owner, file_name="mine.csv", sha256="0" * 64, status="done")
    ImportBatch.objects.create(user=outsider, file_name="theirs.csv", sha256="1" * 64, status="done")
    client.force_login(owner)

    html = client.get(reverse("admin:assessments_score_import")).content.decode()

    assert "mine.csv" in html
    assert "theirs.csv" not in html
