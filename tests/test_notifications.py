"""E-mail at each plan transition to the members who must act next (locmem backend)."""

import datetime

import pytest

from assessments.models import Membership
from plans import services
from plans.models import Plan
from tests.conftest import member


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.PUBLIC_BASE_URL = "https://ita.example.go.th"


@pytest.fixture
def people(db, django_user_model, agency_a, agency_b, owner, wg_member, mayor, outsider):
    """Agency A's members with addresses, and people who must never be written to."""
    for user, email in [(owner, "staff@a.example"), (wg_member, "wg@a.example"), (mayor, "mayor@a.example"),
                        (outsider, "staff@b.example")]:
        user.email = email
        user.save()
    second_wg = member(django_user_model, "wg2", agency_a, "working_group")
    second_wg.email = "wg2@a.example"
    second_wg.save()
    member(django_user_model, "wg-no-mail", agency_a, "working_group")
    viewer = member(django_user_model, "viewer", agency_a, "viewer")
    viewer.email = "viewer@a.example"
    viewer.save()
    provincial = django_user_model.objects.create_user("prov", password="pw", email="prov@example")
    Membership.objects.create(user=provincial, role="provincial", province=agency_a.province)
    b_group = member(django_user_model, "wg-b", agency_b, "working_group", "signatory")
    b_group.email = "wg@b.example"
    b_group.save()
    return {"owner": owner, "wg": wg_member, "mayor": mayor}


@pytest.fixture
def plan(seed_assessment, library, people):
    plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=people["owner"])
    return plan


def addressees(outbox):
    return sorted(address for message in outbox for address in message.to)


def test_it_mails_the_working_group_when_staff_submit(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=plan, user=people["owner"])
    assert addressees(mailoutbox) == ["wg2@a.example", "wg@a.example"]
    # One message per person: nobody sees another member's address.
    assert all(len(message.to) == 1 and not message.cc and not message.bcc for message in mailoutbox)
    message = mailoutbox[0]
    assert "องค์การบริหารส่วนตำบลพลสงคราม" in message.subject
    assert f"https://ita.example.go.th/plans/{plan.pk}/" in message.body


def test_it_mails_the_staff_when_the_working_group_sends_back(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    services.plan_submit(plan=plan, user=people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_request_changes(plan=plan, user=people["wg"], comment="ขอให้เพิ่มกำหนดแล้วเสร็จ")
    assert addressees(mailoutbox) == ["staff@a.example"]
    assert "ขอให้เพิ่มกำหนดแล้วเสร็จ" in mailoutbox[0].body
    assert f"https://ita.example.go.th/plans/{plan.pk}/" in mailoutbox[0].body


def test_it_mails_the_signatory_when_the_working_group_approves(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    services.plan_submit(plan=plan, user=people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_approve(plan=plan, user=people["wg"])
    assert addressees(mailoutbox) == ["mayor@a.example"]
    assert "รอลงนาม" in mailoutbox[0].subject


def test_it_mails_the_staff_when_the_plan_is_signed(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    services.plan_submit(plan=plan, user=people["owner"])
    services.plan_approve(plan=plan, user=people["wg"])
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_sign(
            plan=plan, user=people["mayor"], signatory_name="นายสาธิต ระบบดี",
            signatory_position="นายกองค์การบริหารส่วนตำบลพลสงคราม", announced_on=datetime.date(2025, 10, 2),
            meeting_number="1/2568", meeting_date=datetime.date(2025, 9, 16),
        )
    assert addressees(mailoutbox) == ["staff@a.example"]
    assert "ลงนามประกาศแผนแล้ว" in mailoutbox[0].subject


def test_it_never_mails_anyone_outside_the_agency_or_without_the_role(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=plan, user=people["owner"])
        services.plan_request_changes(plan=plan, user=people["wg"], comment="แก้")
        services.plan_submit(plan=plan, user=people["owner"])
        services.plan_approve(plan=plan, user=people["wg"])
    sent = set(addressees(mailoutbox))
    assert sent == {"wg@a.example", "wg2@a.example", "staff@a.example", "mayor@a.example"}
    assert not sent & {"staff@b.example", "wg@b.example", "viewer@a.example", "prov@example"}


def test_it_sends_nothing_when_the_transition_is_refused(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    from django.core.exceptions import PermissionDenied

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        services.plan_approve(plan=plan, user=people["mayor"])
    assert mailoutbox == []
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT


def test_it_sends_nothing_before_the_transaction_commits(plan, people, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.plan_submit(plan=plan, user=people["owner"])
    assert mailoutbox == [] and len(callbacks) == 1


def test_it_keeps_the_transition_when_the_mail_server_fails(plan, people, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_submit(plan=plan, user=people["owner"])
    plan.refresh_from_db()
    assert plan.status == Plan.Status.SUBMITTED


def test_it_mails_through_the_web_transition_with_the_link(client, plan, people, mailoutbox, django_capture_on_commit_callbacks):
    from django.urls import reverse

    client.force_login(people["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("plans:transition", args=[plan.pk, "submit"]))
    assert response.status_code == 302
    assert addressees(mailoutbox) == ["wg2@a.example", "wg@a.example"]
    assert f"https://ita.example.go.th/plans/{plan.pk}/" in mailoutbox[0].body
