"""งานของฉัน: what awaits each role in its own agencies, never another agency's plans."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from plans import services
from plans.models import Plan, Progress
from plans.my_work import my_work, my_work_count
from tests.conftest import member, page_html


@pytest.fixture
def plan_a(seed_assessment, owner, library):
    plan, _ = services.plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    return plan


@pytest.fixture
def plan_b(other_assessment, outsider, library):
    plan, _ = services.plan_draft_from_assessment(assessment=other_assessment, user=outsider)
    services.plan_submit(plan=plan, user=outsider)
    return plan


@pytest.fixture
def b_group(django_user_model, agency_b):
    return member(django_user_model, "wg-b", agency_b, "working_group", "signatory")


def kinds(user, **kwargs):
    return [(entry.agency.code, item.kind, item.plan.pk) for entry in my_work(user, **kwargs) for item in entry.items]


def page(client, user):
    return page_html(client, user, reverse("plans:my_work"))


def test_it_lands_on_my_work_after_login(client, owner):
    response = client.post(reverse("login"), {"username": "owner", "password": "pw"})
    assert response.status_code == 302 and response["Location"] == reverse("plans:my_work")


def test_it_asks_the_login_of_an_anonymous_visitor(client):
    response = client.get(reverse("plans:my_work"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_it_shows_the_working_group_the_plans_to_review_and_not_another_agencys(
    client, plan_a, plan_b, owner, wg_member, b_group
):
    services.plan_submit(plan=plan_a, user=owner)
    assert kinds(wg_member) == [("A001", "review", plan_a.pk)]
    html = page(client, wg_member)
    assert reverse("plans:detail", args=[plan_a.pk]) in html
    assert reverse("plans:detail", args=[plan_b.pk]) not in html
    assert "เทศบาลตำบลคึกคัก" not in html
    # Agency B's own working group sees B's plan only.
    assert kinds(b_group) == [("B001", "review", plan_b.pk)]


def test_it_shows_the_signatory_only_approved_plans_to_sign(client, plan_a, plan_b, owner, wg_member, mayor):
    services.plan_submit(plan=plan_a, user=owner)
    assert kinds(mayor) == []
    services.plan_approve(plan=plan_a, user=wg_member)
    assert kinds(mayor) == [("A001", "sign", plan_a.pk)]
    assert kinds(wg_member) == []
    html = page(client, mayor)
    assert reverse("plans:sign", args=[plan_a.pk]) in html


def test_it_shows_the_staff_a_plan_sent_back(client, plan_a, plan_b, owner, wg_member, outsider):
    services.plan_submit(plan=plan_a, user=owner)
    services.plan_request_changes(plan=plan_a, user=wg_member, comment="ขอให้เพิ่มผู้รับผิดชอบ")
    assert kinds(owner) == [("A001", "changes", plan_a.pk)]
    html = page(client, owner)
    assert "ที่คณะทำงานส่งกลับ" in html and reverse("plans:detail", args=[plan_a.pk]) in html
    assert "เหตุผล: ขอให้เพิ่มผู้รับผิดชอบ" in html
    # The outsider (staff of B) has nothing sent back, and never sees A's plan.
    assert kinds(outsider) == []
    assert reverse("plans:detail", args=[plan_a.pk]) not in page(client, outsider)


def test_it_shows_the_staff_the_quarters_progress_due_in_a_signed_plan(plan_a, owner):
    Plan.objects.filter(pk=plan_a.pk).update(status=Plan.Status.SIGNED)
    scheduled = sum(1 for m in plan_a.measures.all() if not m.quarter_list or 2 in m.quarter_list)
    assert 0 < scheduled < plan_a.measures.count()  # a measure not run in quarter 2 is not due
    in_q2 = datetime.date(2026, 1, 15)  # FY2569 quarter 2
    items = [i for entry in my_work(owner, today=in_q2) for i in entry.items]
    assert [i.kind for i in items] == ["progress"]
    assert "ไตรมาส 2" in items[0].text and f"{scheduled} มาตรการ" in items[0].text
    for measure in plan_a.measures.all():
        Progress.objects.create(measure=measure, quarter=2, status=Progress.Status.IN_PROGRESS)
    assert kinds(owner, today=in_q2) == []


def test_it_shows_the_staff_measures_past_their_deadline_until_done(plan_a, owner, wg_member, mayor):
    Plan.objects.filter(pk=plan_a.pk).update(status=Plan.Status.SIGNED)
    late = plan_a.measures.order_by("order").first()
    plan_a.measures.exclude(pk=late.pk).update(deadline=datetime.date(2026, 9, 30))
    late.deadline = datetime.date(2025, 12, 31)
    late.save()
    in_q2 = datetime.date(2026, 1, 15)
    overdue = [i for entry in my_work(owner, today=in_q2) for i in entry.items if i.kind == "overdue"]
    assert len(overdue) == 1 and "1 มาตรการ" in overdue[0].text
    assert overdue[0].details[0].startswith(late.title[:40])
    # Not the working group's or the signatory's work.
    assert kinds(wg_member, today=in_q2) == [] and kinds(mayor, today=in_q2) == []
    Progress.objects.create(measure=late, quarter=1, status=Progress.Status.DONE)
    assert [i.kind for entry in my_work(owner, today=in_q2) for i in entry.items] == ["progress"]


def test_it_shows_the_count_in_the_navigation(client, plan_a, owner, wg_member):
    services.plan_submit(plan=plan_a, user=owner)
    client.force_login(wg_member)
    html = client.get(reverse("plans:home")).content.decode()
    assert 'งานของฉัน <span class="count" aria-label="งานที่รอดำเนินการ">1</span>' in html
    client.force_login(owner)
    html = client.get(reverse("plans:home")).content.decode()
    assert 'class="count"' not in html


def test_it_counts_with_the_same_number_of_queries_for_many_plans(django_user_model, owner, wg_member, library):
    from assessments.models import Agency, Membership
    from tests.conftest import make_assessment

    def add_agency(n):
        agency = Agency.objects.create(code=f"Q{n:03}", name=f"องค์การบริหารส่วนตำบลทดสอบ{n}", province="นครราชสีมา")
        for user, role in [(owner, "staff"), (wg_member, "working_group")]:
            Membership.objects.create(user=user, agency=agency, role=role)
        assessment = make_assessment(agency, 2568, {(str(i), ""): "90.00" for i in range(1, 11)})
        plan, _ = services.plan_draft_from_assessment(assessment=assessment, user=owner)
        services.plan_submit(plan=plan, user=owner)
        if n % 3 == 1:
            services.plan_request_changes(plan=plan, user=wg_member, comment=f"เหตุผลที่ {n}")
        elif n % 3 == 2:
            Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.SIGNED)

    today = datetime.date(2026, 1, 15)  # FY2569 quarter 2: every signed plan has progress due
    for n in range(3):
        add_agency(n)
    with CaptureQueriesContext(connection) as few:
        assert my_work_count(owner, today) == 2  # one sent back, one signed plan's quarter
    for n in range(3, 12):
        add_agency(n)
    with CaptureQueriesContext(connection) as many:
        assert my_work_count(owner, today) == 8
    # The memberships, then the plans with their measures and progress in one query.
    assert len(many) == len(few) <= 2
    with CaptureQueriesContext(connection) as group:
        assert my_work_count(wg_member, today) == 4
    assert len(group) <= 2


def test_it_counts_exactly_the_items_it_lists(django_user_model, owner, wg_member, mayor, library):
    from assessments.models import Agency, Membership
    from plans.models import Measure
    from tests.conftest import make_assessment

    for n in range(6):
        agency = Agency.objects.create(code=f"C{n:03}", name=f"องค์การบริหารส่วนตำบลนับ{n}", province="นครราชสีมา")
        for user, role in [(owner, "staff"), (wg_member, "working_group"), (mayor, "signatory")]:
            Membership.objects.create(user=user, agency=agency, role=role)
        assessment = make_assessment(agency, 2568, {(str(i), ""): "90.00" for i in range(1, 11)})
        plan, _ = services.plan_draft_from_assessment(assessment=assessment, user=owner)
        if n == 0:
            continue  # a draft: nobody's item
        services.plan_submit(plan=plan, user=owner)
        if n == 2:
            services.plan_request_changes(plan=plan, user=wg_member, comment="แก้")
        elif n == 3:
            Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.APPROVED)
        elif n >= 4:
            Plan.objects.filter(pk=plan.pk).update(status=Plan.Status.SIGNED)
            measures = list(Measure.objects.filter(plan=plan).order_by("order"))
            Measure.objects.filter(pk=measures[0].pk).update(deadline=datetime.date(2025, 12, 31), quarters="1")
            if n == 5:  # every measure's first quarter recorded; one done, so not overdue
                for i, measure in enumerate(measures):
                    Progress.objects.create(measure=measure, quarter=1, status="done" if i == 0 else "in_progress")
    days = [datetime.date(2025, 9, 1), datetime.date(2025, 11, 15), datetime.date(2026, 1, 15), datetime.date(2027, 1, 1)]
    for user in (owner, wg_member, mayor):
        for day in days:
            assert my_work_count(user, day) == sum(len(entry.items) for entry in my_work(user, day)), (user, day)
    kinds = {user.username: sorted(i.kind for e in my_work(user, datetime.date(2026, 1, 15)) for i in e.items)
             for user in (owner, wg_member, mayor)}
    assert kinds == {"owner": ["changes", "overdue", "progress", "progress"], "member": ["review"], "mayor": ["sign"]}


def test_it_shows_nothing_to_a_provincial_officer(client, django_user_model, plan_a, owner, agency_a):
    from assessments.models import Membership

    services.plan_submit(plan=plan_a, user=owner)
    officer = django_user_model.objects.create_user("prov", password="pw")
    Membership.objects.create(user=officer, role="provincial", province=agency_a.province)
    assert my_work(officer) == []
    assert "ยังไม่มีบทบาทในหน่วยงานใด" in page(client, officer)
