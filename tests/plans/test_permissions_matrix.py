"""Every route of the plans app × every agency role, from one table.

Roles are the demo's (staff, working group, signatory, viewer of agency A, provincial officer
of A's province, staff of agency B as the outsider, and an anonymous visitor); never a
superuser. For each case the table says which roles may act; an allowed role must get the
page or make the change, every other role must be refused (login, 403 or 404, or sent back
with a message) and change nothing. A new route of the plans app that is not in the table
fails test_it_has_a_row_for_every_route_of_the_plans_app: new routes fall into it by default."""

import dataclasses
from collections.abc import Callable

import pytest
from django.core.files.base import ContentFile
from django.urls import get_resolver, reverse

from assessments.models import Membership
from plans.models import BulkRenderJob, Measure, Plan, Progress, ReviewComment, StoredDocument
from plans.services import plan_draft_from_assessment, plan_submit
from tests.conftest import member

ROLES = ["staff", "working_group", "signatory", "viewer", "provincial", "outsider", "anonymous"]
MEMBERS = {"staff", "working_group", "signatory", "viewer", "provincial"}
EVERYONE = set(ROLES)
PDF = b"%PDF-1.4 test\n%%EOF\n"


@dataclasses.dataclass
class Case:
    route: str
    allowed: set
    state: str = "draft"  # the plan's state before the request: none, draft, submitted, approved, signed
    method: str = "get"
    args: Callable = lambda w: [w.plan.pk]
    data: Callable = lambda w: {}
    effect: Callable | None = None  # True once the change is made; None for a page that only reads
    label: str = ""

    @property
    def id(self):
        return f"{self.route}{'-' + self.label if self.label else ''}"


def first_measure(w):
    return w.plan.measures.order_by("order", "pk").first()


def measure_args(w):
    return [w.plan.pk, first_measure(w).pk]


def measure_form(w):
    m = first_measure(w)
    p = f"m{m.pk}-"
    return {p + "version": m.version, p + "band": m.band, p + "title": "แก้ไขโดยผู้ทดสอบสิทธิ์", p + "quarters": ["1"]}


CASES = [
    Case("home", EVERYONE - {"anonymous"}, args=lambda w: []),
    Case("my_work", EVERYONE - {"anonymous"}, args=lambda w: []),  # each sees only their own agencies' work
    Case("agency", MEMBERS, args=lambda w: [w.agency.code]),
    Case("draft", {"staff"}, state="none", method="post", args=lambda w: [w.assessment.pk],
         effect=lambda w: Plan.objects.filter(agency=w.agency).exists()),
    Case("detail", MEMBERS),
    Case("comment", {"staff", "working_group"}, method="post", data=lambda w: {"body": "ความเห็นทดสอบสิทธิ์"},
         effect=lambda w: ReviewComment.objects.filter(plan=w.plan).exists()),
    Case("revise", {"staff"}, state="signed", method="post",
         effect=lambda w: Plan.objects.filter(previous=w.plan).exists()),
    Case("sign", {"signatory"}, state="approved", label="page"),
    Case("sign", {"signatory"}, state="approved", method="post", label="post",
         data=lambda w: {"signatory_name": "นายทดสอบ สิทธิ์", "signatory_position": "นายก", "meeting_number": "1/2568",
                         "confirm": "on", "announced_on_0": "2", "announced_on_1": "10", "announced_on_2": "2568",
                         "meeting_date_0": "16", "meeting_date_1": "9", "meeting_date_2": "2568"},
         effect=lambda w: Plan.objects.get(pk=w.plan.pk).status == Plan.Status.SIGNED),
    Case("progress", MEMBERS, state="signed", label="page"),
    Case("progress", {"staff"}, state="signed", method="post", label="record",
         data=lambda w: {"measure": first_measure(w).pk, "quarter": "1", "status": "done", "note": "ทดสอบ"},
         effect=lambda w: Progress.objects.filter(measure__plan=w.plan, note="ทดสอบ").exists()),
    Case("evidence", MEMBERS, state="signed", args=lambda w: [w.plan.pk, w.progress.pk]),
    Case("document", MEMBERS, args=lambda w: [w.plan.pk, "plan"]),
    Case("document_docx", MEMBERS, args=lambda w: [w.plan.pk, "plan"]),
    Case("publish_progress", {"staff"}, state="signed", method="post",
         effect=lambda w: StoredDocument.objects.filter(plan=w.plan, kind="progress").exists()),
    Case("public_agency", EVERYONE, state="signed", args=lambda w: [w.agency.code]),
    Case("public_document", EVERYONE, state="signed", args=lambda w: [w.agency.code, w.document.verify_code]),
    Case("verify_lookup", EVERYONE, args=lambda w: []),
    Case("verify", EVERYONE, state="signed", args=lambda w: [w.document.verify_code]),
    Case("bulk", {"provincial"}, args=lambda w: []),
    Case("bulk_detail", {"provincial"}, args=lambda w: [w.job.pk]),
    Case("bulk_download", {"provincial"}, args=lambda w: [w.job.pk]),
    Case("transition", {"staff"}, method="post", args=lambda w: [w.plan.pk, "submit"], label="submit",
         effect=lambda w: Plan.objects.get(pk=w.plan.pk).status == Plan.Status.SUBMITTED),
    Case("transition", {"working_group"}, state="submitted", method="post", label="approve",
         args=lambda w: [w.plan.pk, "approve"],
         effect=lambda w: Plan.objects.get(pk=w.plan.pk).status == Plan.Status.APPROVED),
    Case("transition", {"working_group"}, state="submitted", method="post", label="request_changes",
         args=lambda w: [w.plan.pk, "request_changes"], data=lambda w: {"comment": "ปรับแก้"},
         effect=lambda w: Plan.objects.get(pk=w.plan.pk).status == Plan.Status.CHANGES_REQUESTED),
    Case("measure_add", {"staff"}, method="post", data=lambda w: {"indicator": "1"},
         effect=lambda w: w.plan.measures.count() > w.measure_count),
    Case("measure_edit", {"staff"}, args=measure_args, label="page"),
    Case("measure_edit", set(), state="submitted", label="submitted-plan", args=measure_args),
    Case("measure_update", {"staff"}, method="post", args=measure_args, data=measure_form,
         effect=lambda w: w.plan.measures.filter(title="แก้ไขโดยผู้ทดสอบสิทธิ์").exists()),
    Case("measure_move", {"staff"}, method="post", label="down", args=lambda w: [w.plan.pk, w.movable.pk],
         data=lambda w: {"direction": "down"},
         effect=lambda w: Measure.objects.get(pk=w.movable.pk).order != w.movable.order),
    Case("measure_delete", {"staff"}, method="post", args=measure_args,
         data=lambda w: {"confirm": "1", "version": first_measure(w).version},
         effect=lambda w: w.plan.measures.count() < w.measure_count),
    # Not allowed to anyone, in any state: the same refusal for every role.
    Case("measure_update", set(), state="submitted", method="post", label="submitted-plan", args=measure_args,
         data=measure_form, effect=lambda w: w.plan.measures.filter(title="แก้ไขโดยผู้ทดสอบสิทธิ์").exists()),
    Case("measure_add", set(), state="signed", method="post", label="signed-plan", data=lambda w: {"indicator": "1"},
         effect=lambda w: w.plan.measures.count() > w.measure_count),
]


def test_it_has_a_row_for_every_route_of_the_plans_app():
    resolver = get_resolver()
    routes = set()
    for pattern in resolver.url_patterns:
        if getattr(pattern, "namespace", None) == "plans":
            routes |= {p.name for p in pattern.url_patterns}
    missing = routes - {c.route for c in CASES}
    assert routes and not missing, f"routes without a row in the permissions table: {sorted(missing)}"


def test_it_never_uses_a_superuser_role():
    assert "superuser" not in ROLES and "admin" not in ROLES


class World:
    pass


@pytest.fixture
def users(db, django_user_model, agency_a, agency_b, owner, wg_member, mayor, outsider):
    viewer = member(django_user_model, "viewer", agency_a, "viewer")
    provincial = django_user_model.objects.create_user("province", password="pw")
    Membership.objects.create(user=provincial, role="provincial", province=agency_a.province)
    return {"staff": owner, "working_group": wg_member, "signatory": mayor, "viewer": viewer,
            "provincial": provincial, "outsider": outsider, "anonymous": None}


def build_world(case, seed_assessment, users, monkeypatch):
    # Rendering PDFs is tested elsewhere; here only who may ask for them.
    monkeypatch.setattr("plans.documents.render_plan_document", lambda plan, kind: PDF)
    monkeypatch.setattr("plans.progress_report._render", lambda plan, today: PDF)
    monkeypatch.setattr("plans.announcement.announcement_store", lambda **kwargs: None)
    w = World()
    w.assessment, w.agency = seed_assessment, seed_assessment.agency
    staff = users["staff"]
    w.job = BulkRenderJob.objects.create(user=users["provincial"], kind="announcement", fiscal_year=2568,
                                         province=w.agency.province, status=BulkRenderJob.Status.DONE)
    w.job.archive.save("job.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    if case.state == "none":
        return w
    w.plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=staff)
    if case.state in ("submitted", "approved", "signed"):
        plan_submit(plan=w.plan, user=staff)
    if case.state in ("approved", "signed"):
        Plan.objects.filter(pk=w.plan.pk).update(status=case.state)
    w.plan.refresh_from_db()
    if case.state == "signed":
        w.progress = Progress.objects.create(measure=first_measure(w), quarter=1, status="done")
        w.progress.evidence_file.save("evidence.pdf", ContentFile(PDF))
        w.document = StoredDocument(plan=w.plan, kind="announcement", title="ประกาศทดสอบ", sha256="a" * 64,
                                    verify_code="TESTCODE1")
        w.document.file.save("announcement.pdf", ContentFile(PDF))
    w.measure_count = w.plan.measures.count()
    # The first measure with another after it under the same indicator.
    measures = list(w.plan.measures.order_by("order", "pk"))
    w.movable = next(m for m in measures if any(o.indicator_id == m.indicator_id and o.order > m.order for o in measures))
    return w


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_it_allows_only_the_roles_in_the_table(client, case, role, users, seed_assessment, monkeypatch):
    w = build_world(case, seed_assessment, users, monkeypatch)
    if users[role] is not None:
        client.force_login(users[role])
    url = reverse(f"plans:{case.route}", args=case.args(w))
    response = getattr(client, case.method)(url, case.data(w))
    allowed = role in case.allowed
    if case.effect is not None:
        assert case.effect(w) is allowed, f"{role} {'could not' if allowed else 'could'} {case.id} ({response.status_code})"
        assert response.status_code in ((200, 302) if allowed else (302, 403, 404))
    elif allowed:
        assert response.status_code == 200, f"{role} was refused {case.id}"
    else:
        assert response.status_code in (302, 403, 404), f"{role} was shown {case.id}"
    if role == "anonymous" and not allowed:
        assert response.status_code == 302 and "/accounts/login/" in response.url


# The plan's admin page and its measures inline, by role. Each user is given admin access
# (is_staff) here so that the agency role alone decides; the demo's working group, mayor and
# provincial officer have none and are sent to the admin login.
ADMIN_EDITORS = {"staff"}
ADMIN_READERS = MEMBERS


@pytest.mark.parametrize("role", ROLES)
def test_it_lets_only_staff_edit_measures_in_the_admin(client, role, users, seed_assessment):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=users["staff"])
    measure = plan.measures.order_by("order", "pk").first()
    user = users[role]
    if user is not None:
        user.is_staff = True
        user.save()
        client.force_login(user)
    url = reverse("admin:plans_plan_change", args=[plan.pk])
    page = client.get(url)
    if role in ADMIN_READERS:
        assert page.status_code == 200
        assert ('name="measures-0-title"' in page.content.decode()) is (role in ADMIN_EDITORS)
    else:
        assert page.status_code in (302, 404)
    data = {"title": plan.title, "background": "", "version": plan.version,
            "measures-TOTAL_FORMS": "1", "measures-INITIAL_FORMS": "1", "measures-MIN_NUM_FORMS": "0",
            "measures-MAX_NUM_FORMS": "1000", "measures-0-id": measure.pk, "measures-0-plan": plan.pk,
            "measures-0-order": measure.order, "measures-0-indicator": measure.indicator_id,
            "measures-0-band": measure.band, "measures-0-title": "แก้จากหน้าผู้ดูแล", "measures-0-quarters": "1",
            "transitions-TOTAL_FORMS": "0", "transitions-INITIAL_FORMS": "0"}
    client.post(url, data)
    measure.refresh_from_db()
    assert (measure.title == "แก้จากหน้าผู้ดูแล") is (role in ADMIN_EDITORS)
