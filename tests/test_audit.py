"""Audit trail: every change to scores, plans, measures, memberships and signatures is
recorded with who, when, the old and the new value, and shown in the admin's history pages."""

import datetime
from decimal import Decimal

import lxml.html
import pytest
from django.core.management import call_command
from django.urls import reverse

from assessments.models import Membership, Score
from assessments.resources import import_scores
from assessments.services import assessment_save_scores
from plans.models import Measure, Plan
from plans.services import plan_approve, plan_draft_from_assessment, plan_sign, plan_submit


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw", first_name="ผู้ดูแลระบบ")


@pytest.fixture
def baseline(seed_assessment):
    """Scores written in bulk (as the fixtures are) have no history yet: record their
    current state first, as `manage.py populate_history --auto` does after deploying."""
    call_command("populate_history", "assessments.Score", verbosity=0)


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


def page_form(response):
    """What a browser sends back from the change form, unchanged (textarea lines as CRLF)."""
    html = lxml.html.fromstring(response.content.decode())
    form = next(f for f in html.forms if f.get("id", "").endswith("_form"))
    data = {}
    for name, value in form.form_values():
        data.setdefault(name, []).append(value.lstrip("\n").replace("\n", "\r\n"))
    data["_save"] = ["1"]
    return data


def history_module(response, title):
    assert response.status_code == 200
    html = lxml.html.fromstring(response.content.decode())
    return next(m for m in html.find_class("history-module") if m.find("h2").text_content().strip() == title)


def text(element):
    return " ".join(element.text_content().split())


def history_rows(response, title):
    """The rows of one table of the history page (by its heading), as lists of cell texts."""
    return [[text(td) for td in tr.findall("td")] for tr in history_module(response, title).iter("tr")][1:]


def saves(response, title):
    """The saves listed in a related-rows section: (who, [each change as text])."""
    rows = history_module(response, title).iter("tr")
    next(rows)
    return [(text(tr.find_class("who")[0]), [text(li) for li in tr.find_class("change")]) for tr in rows]


def score_history(assessment, code, part=""):
    return Score.history.filter(assessment_id=assessment.pk, item__code=code, part=part).order_by("history_date")


def edit_scores(client, user, assessment, **changes):
    client.force_login(user)
    url = reverse("admin:assessments_assessment_change", args=[assessment.pk])
    data = page_form(client.get(url))
    data.update({f"score_{name}": [value] for name, value in changes.items()})
    assert client.post(url, data).status_code == 302


def test_it_records_who_changed_a_score_on_the_admin_page_with_old_and_new_values(
    client, owner, seed_assessment, baseline
):
    edit_scores(client, owner, seed_assessment, i1="80.00")
    record = score_history(seed_assessment, "i1").last()
    assert (record.history_type, record.history_user, record.value) == ("~", owner, Decimal("80.00"))
    assert record.prev_record.value == Decimal("98.06")


def test_it_records_added_and_deleted_scores_on_the_admin_page(client, owner, seed_assessment):
    edit_scores(client, owner, seed_assessment, overall="")
    deleted = score_history(seed_assessment, "overall").last()
    assert (deleted.history_type, deleted.history_user, deleted.value) == ("-", owner, Decimal("92.27"))
    edit_scores(client, owner, seed_assessment, overall="92.27")
    added = score_history(seed_assessment, "overall").last()
    assert (added.history_type, added.history_user, added.value) == ("+", owner, Decimal("92.27"))


def test_it_shows_score_changes_on_the_assessments_history_page(client, owner, seed_assessment, baseline):
    edit_scores(client, owner, seed_assessment, i1="80.00", overall="")
    response = client.get(reverse("admin:assessments_assessment_history", args=[seed_assessment.pk]))
    who, changes = saves(response, "ประวัติการแก้ไขคะแนน")[0]
    assert who == "owner"
    deleted, changed = changes
    assert deleted == "คะแนนรวม: 92.27 → - (ลบ)"
    assert changed.startswith("i1 เจ้าหน้าที่ของหน่วยงาน") and changed.endswith(": 98.06 → 80.00")


def test_it_says_when_the_old_value_was_never_recorded(client, owner, seed_assessment):
    # The score page and the import record the old value; a save elsewhere (a shell) does not,
    # and a score written in bulk before history was kept has no earlier row to read it from.
    score = seed_assessment.scores.get(item__code="i1")
    score.value = Decimal("80.00")
    score.save()
    client.force_login(owner)
    response = client.get(reverse("admin:assessments_assessment_history", args=[seed_assessment.pk]))
    assert saves(response, "ประวัติการแก้ไขคะแนน")[0][1][0].endswith(": (ไม่มีบันทึกค่าเดิม) → 80.00")


def test_it_attributes_a_service_save_outside_a_request_to_the_given_user(seed_assessment, wg_member):
    assessment_save_scores(assessment=seed_assessment, values={("i1", ""): Decimal("70.00")}, user=wg_member)
    record = score_history(seed_assessment, "i1").last()
    assert (record.history_user, record.value) == (wg_member, Decimal("70.00"))


def test_it_records_every_import_in_an_import_batch(seed_assessment, baseline, owner, tmp_path):
    """The ImportBatch of an import: who, when, the file's hash and the counts (each changed
    score's own row is tested in tests/test_audit_paths.py)."""
    import hashlib

    from assessments.models import ImportBatch

    content = (
        "agency_code,agency_name,agency_type,province,district,fiscal_year,item,score\n"
        "A001,,,,,2568,i1,81.50\n"
        "A001,,,,,2568,e4:survey,79.00\n"
        "B777,เทศบาลตำบลทดสอบ,เทศบาลตำบล,พังงา,ตะกั่วป่า,2568,overall,88.00\n"
    )
    path = tmp_path / "scores.csv"
    path.write_text(content, encoding="utf-8")
    report = import_scores(path, user=owner)
    assert (report.new, report.updated) == (1, 2)
    batch = ImportBatch.objects.get()
    assert (batch.user, batch.status, batch.new, batch.updated, batch.agencies_created) == (owner, "done", 1, 2, 1)
    assert batch.sha256 == hashlib.sha256(content.encode()).hexdigest()
    assert batch.created_at is not None and batch.finished_at is not None
    seed_assessment.refresh_from_db()
    assert seed_assessment.scores.get(item__code="i1").value == Decimal("81.50")


def test_it_shows_plan_and_measure_changes_on_the_plans_history_page(client, superuser, plan):
    client.force_login(superuser)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    data = page_form(client.get(url))
    old_title = plan.title
    data["title"] = ["มาตรการฉบับแก้ไข"]
    data["measures-0-title"] = ["มาตรการที่แก้ไขแล้ว"]
    assert client.post(url, data).status_code == 302
    measure = Measure.history.filter(plan_id=plan.pk, history_user=superuser).get()  # the untouched ones left none
    assert (measure.history_type, measure.title) == ("~", "มาตรการที่แก้ไขแล้ว")
    response = client.get(reverse("admin:plans_plan_history", args=[plan.pk]))
    own = history_rows(response, "ประวัติการแก้ไขแผนยกระดับผลการประเมิน")
    assert own[0][1:] == ["ผู้ดูแลระบบ", "แก้ไข", f"ชื่อแผน: {old_title} → มาตรการฉบับแก้ไข"]
    who, changes = saves(response, "ประวัติการแก้ไขมาตรการ")[0]
    assert who == "ผู้ดูแลระบบ" and len(changes) == 1
    assert changes[0].startswith("มาตรการลำดับที่ 1 มาตรการที่แก้ไขแล้ว · มาตรการ/โครงการ/กิจกรรม: ")
    assert changes[0].endswith(" → มาตรการที่แก้ไขแล้ว")


def test_it_records_each_transition_and_the_signing_with_who_did_it(plan, owner, wg_member, mayor, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    plan_sign(plan=plan, user=mayor, signatory_name="นายสาธิต ระบบดี", signatory_position="นายก",
              announced_on=datetime.date(2025, 10, 2), meeting_number="1/2568",
              meeting_date=datetime.date(2025, 9, 16))
    records = list(Plan.history.filter(id=plan.pk).order_by("history_date"))
    assert [(r.status, r.history_user) for r in records[1:]] == [
        ("submitted", owner), ("approved", wg_member), ("signed", mayor)
    ]
    signed = records[-1]
    assert (signed.signatory_name, signed.signed_by, signed.prev_record.signatory_name) == (
        "นายสาธิต ระบบดี", mayor, ""
    )


def test_it_shows_status_changes_by_their_thai_label(client, superuser, plan, owner):
    plan_submit(plan=plan, user=owner)
    client.force_login(superuser)
    response = client.get(reverse("admin:plans_plan_history", args=[plan.pk]))
    rows = history_rows(response, "ประวัติการแก้ไขแผนยกระดับผลการประเมิน")
    assert rows[0][1:] == ["owner", "แก้ไข", "สถานะ: ร่าง → เสนอคณะทำงานพิจารณา"]


def test_it_records_membership_changes_made_in_the_admin(client, superuser, owner):
    membership = Membership.objects.get(user=owner)
    client.force_login(superuser)
    url = reverse("admin:assessments_membership_change", args=[membership.pk])
    data = page_form(client.get(url))
    data["role"] = ["viewer"]
    assert client.post(url, data).status_code == 302
    record = Membership.history.filter(id=membership.pk).first()
    assert (record.history_user, record.role, record.prev_record.role) == (superuser, "viewer", "staff")
    response = client.get(reverse("admin:assessments_membership_history", args=[membership.pk]))
    rows = history_rows(response, "ประวัติการแก้ไขสิทธิ์ของผู้ใช้ในหน่วยงาน")
    assert rows[0][1:] == ["ผู้ดูแลระบบ", "แก้ไข", "บทบาท: เจ้าหน้าที่ (กรอกคะแนน จัดทำแผน) → ผู้ดูข้อมูล"]


def test_it_keeps_history_pages_read_only_and_scoped(client, owner, outsider, seed_assessment):
    edit_scores(client, owner, seed_assessment, i1="80.00")
    record = seed_assessment.history.first()
    url = reverse("admin:assessments_assessment_simple_history", args=[seed_assessment.pk, record.history_id])
    assert client.get(url).status_code == 200
    assert client.post(url, {"notes": "ย้อนกลับ"}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    assert client.get(reverse("admin:assessments_assessment_history", args=[seed_assessment.pk])).status_code == 404
