"""Issue 11 item 4: every change to a score, from any path (the import command, the admin
import, the score page), leaves a historical row with who, when, the old and the new value;
import batches are listed, read-only and scoped, in the admin."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from assessments.models import ImportBatch, Score
from tests.test_audit import edit_scores, saves

HEADER = "agency_code,agency_name,agency_type,province,district,fiscal_year,item,score\n"


def history(assessment, code, part=""):
    return list(Score.history.filter(assessment_id=assessment.pk, item__code=code, part=part).order_by("history_id"))


def write(tmp_path, rows, name="scores.csv"):
    path = tmp_path / name
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def test_it_records_the_command_users_changes_with_old_and_new_values(seed_assessment, owner, tmp_path):
    path = write(tmp_path, "A001,,,,,2568,i1,81.50\nA001,,,,,2568,O10,100.00\n")
    call_command("import_scores", str(path), "--user", "owner", stdout=None)
    batch = ImportBatch.objects.get()
    assert (batch.user, batch.status, batch.updated, batch.unchanged) == (owner, "done", 1, 1)
    (record,) = history(seed_assessment, "i1")
    assert (record.history_type, record.history_user, record.old_value, record.value) == (
        "~", owner, Decimal("98.06"), Decimal("81.50")
    )
    assert record.import_batch == batch and record.history_date >= batch.created_at
    assert record.id == seed_assessment.scores.get(item__code="i1").pk  # the upsert returned the existing row's pk
    assert history(seed_assessment, "O10") == []  # unchanged: no row


def test_it_records_the_system_import_user_without_user(seed_assessment, tmp_path):
    call_command("import_scores", str(write(tmp_path, "A001,,,,,2568,i1,81.50\n")), stdout=None)
    system = get_user_model().objects.get(username="system-import")
    assert (system.is_active, system.has_usable_password()) == (False, False)
    assert ImportBatch.objects.get().user == system
    (record,) = history(seed_assessment, "i1")
    assert (record.history_user, record.old_value, record.value) == (system, Decimal("98.06"), Decimal("81.50"))


def test_it_records_a_new_score_from_the_command_as_added(agency_a, tmp_path):
    get_user_model().objects.create_user("importer")
    call_command("import_scores", str(write(tmp_path, "A001,,,,,2568,overall,88.00\n")), "--user", "importer",
                 stdout=None)
    record = Score.history.get(item__code="overall")
    assert (record.history_type, record.history_user.username, record.old_value, record.value) == (
        "+", "importer", None, Decimal("88.00")
    )


def test_it_refuses_an_unknown_user_on_the_command(seed_assessment, tmp_path):
    with pytest.raises(CommandError, match="ไม่มีผู้ใช้ชื่อ nobody ในระบบ"):
        call_command("import_scores", str(write(tmp_path, "A001,,,,,2568,i1,81.50\n")), "--user", "nobody")
    assert not ImportBatch.objects.exists()
    assert seed_assessment.scores.get(item__code="i1").value == Decimal("98.06")


def admin_import(client, content):
    preview = client.post(
        reverse("admin:assessments_score_import"),
        {"import_file": SimpleUploadedFile("scores.csv", (HEADER + content).encode())},
    )
    batch = preview.context["confirm_form"]["batch"].value()
    client.post(reverse("admin:assessments_score_process_import"), {"batch": batch})
    return ImportBatch.objects.get(pk=batch)


def test_it_records_the_admin_import_as_the_staff_user(client, owner, seed_assessment):
    client.force_login(owner)
    batch = admin_import(client, "A001,,,,,2568,e4:survey,79.00\n")
    assert (batch.user, batch.status) == (owner, "done")
    (record,) = history(seed_assessment, "e4", "survey")
    assert (record.history_user, record.old_value, record.value, record.import_batch) == (
        owner, Decimal("79.09"), Decimal("79.00"), batch
    )


def test_it_records_the_old_value_of_the_first_edit_on_the_score_page(client, owner, seed_assessment):
    edit_scores(client, owner, seed_assessment, i1="80.00")
    (record,) = history(seed_assessment, "i1")
    assert (record.history_type, record.history_user, record.old_value, record.value) == (
        "~", owner, Decimal("98.06"), Decimal("80.00")
    )
    response = client.get(reverse("admin:assessments_assessment_history", args=[seed_assessment.pk]))
    assert saves(response, "ประวัติการแก้ไขคะแนน")[0][1][0].endswith(": 98.06 → 80.00")


def test_it_shows_the_imported_value_as_old_on_the_first_edit_after_an_import(client, owner, seed_assessment):
    client.force_login(owner)
    admin_import(client, "A001,,,,,2568,i1,81.50\n")
    edit_scores(client, owner, seed_assessment, i1="80.00")
    response = client.get(reverse("admin:assessments_assessment_history", args=[seed_assessment.pk]))
    (edit_who, edit), (import_who, imported) = saves(response, "ประวัติการแก้ไขคะแนน")[:2]
    assert edit[0].endswith(": 81.50 → 80.00")
    assert imported[0].endswith(": 98.06 → 81.50")
    assert (edit_who, import_who) == ("owner", "owner (นำเข้าจากไฟล์ scores.csv)")


@pytest.fixture
def two_batches(client, owner, outsider, seed_assessment, other_assessment):
    client.force_login(owner)
    mine = admin_import(client, "A001,,,,,2568,i1,81.50\n")
    client.force_login(outsider)
    theirs = admin_import(client, "B001,,,,,2568,1,70.00\n")
    client.logout()
    return mine, theirs


def test_it_lists_the_staff_users_import_batches_but_not_another_agencys(client, owner, two_batches):
    mine, theirs = two_batches
    client.force_login(owner)
    response = client.get(reverse("admin:assessments_importbatch_changelist"))
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]
    assert client.get(reverse("admin:assessments_importbatch_change", args=[theirs.pk])).status_code == 404


def test_it_shows_a_batchs_changes_read_only(client, owner, two_batches):
    mine, _ = two_batches
    client.force_login(owner)
    url = reverse("admin:assessments_importbatch_change", args=[mine.pk])
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "98.06 → 81.50" in html and mine.sha256 in html
    assert 'name="_save"' not in html
    assert client.post(url, {"file_name": "x"}).status_code == 403


def test_it_shows_a_superusers_batch_only_with_the_users_own_agencys_changes(
    client, owner, admin_user, seed_assessment, other_assessment, tmp_path
):
    call_command(
        "import_scores", str(write(tmp_path, "A001,,,,,2568,i1,81.50\nB001,,,,,2568,1,70.00\n")),
        "--user", admin_user.username, stdout=None,
    )
    batch = ImportBatch.objects.get()
    client.force_login(owner)
    assert list(client.get(reverse("admin:assessments_importbatch_changelist")).context["cl"].result_list) == [batch]
    html = client.get(reverse("admin:assessments_importbatch_change", args=[batch.pk])).content.decode()
    assert "98.06 → 81.50" in html
    assert "B001" not in html and "80.00 → 70.00" not in html


def test_it_records_each_added_and_changed_score_of_an_import_once_and_no_other(
    seed_assessment, other_assessment, owner, tmp_path
):
    path = write(tmp_path, (
        "B001,,,,,2568,overall,80.50\n"  # new, in an assessment that exists
        "B001,,,,,2568,1,70.00\n"  # 80.00 → 70.00
        "B001,,,,,2568,2,80.00\n"  # unchanged
        "C001,เทศบาลตำบลทดสอบ,ทต.,ขอนแก่น,เมือง,2568,overall,88.00\n"  # new agency, new assessment
    ))
    call_command("import_scores", str(path), "--user", "owner", stdout=None)
    batch = ImportBatch.objects.get()

    records = Score.history.select_related("assessment__agency", "item")
    assert sorted(
        (r.assessment.agency.code, r.item.code, r.history_type, r.old_value, r.value, r.history_user, r.import_batch)
        for r in records
    ) == [
        ("B001", "1", "~", Decimal("80.00"), Decimal("70.00"), owner, batch),
        ("B001", "overall", "+", None, Decimal("80.50"), owner, batch),
        ("C001", "overall", "+", None, Decimal("88.00"), owner, batch),
    ]
    # Each row is the score's own (its id), and the scores already there (A001) got none.
    assert {r.id for r in records} == set(
        Score.objects.filter(assessment__agency__code__in=["B001", "C001"], item__code__in=["1", "overall"])
        .values_list("pk", flat=True)
    )
    assert len({r.history_date for r in records}) == 1 and records[0].history_date >= batch.created_at


def test_it_keeps_a_batchs_history_rows_without_a_link_when_the_batch_is_deleted(seed_assessment, owner, tmp_path):
    call_command("import_scores", str(write(tmp_path, "A001,,,,,2568,i1,81.50\n")), "--user", "owner", stdout=None)
    (record,) = history(seed_assessment, "i1")

    ImportBatch.objects.get().delete()

    # The link has no database constraint (see ScoreHistoryFields): Django empties it.
    record.refresh_from_db()
    assert (record.import_batch_id, record.old_value, record.value) == (None, Decimal("98.06"), Decimal("81.50"))


def test_it_keeps_a_users_score_history_rows_without_a_link_when_the_user_is_deleted(seed_assessment, tmp_path):
    importer = get_user_model().objects.create_user("importer")
    call_command("import_scores", str(write(tmp_path, "A001,,,,,2568,i1,81.50\n")), "--user", "importer",
                 stdout=None)

    importer.delete()

    # The link has no database constraint (see Score.history): Django empties it.
    (record,) = history(seed_assessment, "i1")
    assert (record.history_user_id, record.old_value, record.value) == (None, Decimal("98.06"), Decimal("81.50"))
