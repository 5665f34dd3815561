"""งานของฉัน: what awaits a user in each of their agencies, by role.

- working group: plans submitted for review;
- signatory: plans approved and waiting to be signed;
- staff: plans sent back for changes; in a signed plan, the current quarter's progress
  not yet recorded and measures past their deadline that are neither done nor cancelled.

At most five queries whatever the number of agencies, plans or measures (memberships,
plans, send-back reasons, measures, progress); the count for the navigation on every page
(my_work_count) at most two."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from assessments.models import Membership
from ita_portal import thai
from plans.models import Measure, Plan, Progress, Transition, quarter_numbers

Role = Membership.Role
Status = Plan.Status
FINISHED = (Progress.Status.DONE, Progress.Status.CANCELLED)


@dataclass
class WorkItem:
    kind: str  # review, sign, changes, progress, overdue
    plan: Plan
    text: str
    url: str
    details: list = field(default_factory=list)


@dataclass
class AgencyWork:
    agency: object
    roles: list
    items: list = field(default_factory=list)


def _current_signed(staff_agencies):
    """Signed plans of the agencies whose progress is recorded now: the latest signed
    revision (a draft revision does not replace it until it is signed)."""
    signed_successor = Plan.objects.filter(previous=OuterRef("pk"), status=Status.SIGNED)
    return Q(agency_id__in=staff_agencies, status=Status.SIGNED) & ~Q(Exists(signed_successor))


def my_work(user, today=None):
    """The user's agencies (those where they hold a role other than provincial) with the
    items awaiting them, agencies in name order."""
    if not user.is_authenticated:
        return []
    today = today or timezone.localdate()
    memberships = list(
        Membership.objects.filter(user=user, agency__isnull=False)
        .exclude(role=Role.PROVINCIAL)
        .select_related("agency")
        .order_by("agency__name", "role")
    )
    if not memberships:
        return []
    work = {}
    by_role = defaultdict(set)
    for m in memberships:
        entry = work.setdefault(m.agency_id, AgencyWork(agency=m.agency, roles=[]))
        entry.roles.append(m.get_role_display().split(" (")[0])
        by_role[m.role].add(m.agency_id)

    plans = list(Plan.objects.filter(_awaiting(by_role)).order_by("-target_year", "agency_id", "-revision"))

    reasons = {}
    sent_back = [p.pk for p in plans if p.status == Status.CHANGES_REQUESTED]
    if sent_back:
        latest_first = Transition.objects.filter(plan_id__in=sent_back, to_status=Status.CHANGES_REQUESTED)
        for plan_id, comment in latest_first.order_by("-at", "-pk").values_list("plan_id", "comment"):
            reasons.setdefault(plan_id, comment)
    signed = {p.pk: p for p in plans if p.status == Status.SIGNED}
    measures = defaultdict(list)
    if signed:
        progress = defaultdict(dict)
        for p in Progress.objects.filter(measure__plan_id__in=signed).only("measure_id", "quarter", "status"):
            progress[p.measure_id][p.quarter] = p.status
        for m in Measure.objects.filter(plan_id__in=signed).only(
            "pk", "plan_id", "title", "quarters", "deadline", "order"
        ).order_by("order", "pk"):
            measures[m.plan_id].append((m, progress.get(m.pk, {})))

    for plan in plans:
        entry = work[plan.agency_id]
        detail = reverse("plans:detail", args=[plan.pk])
        label = _plan_label(plan)
        if plan.status == Status.SUBMITTED:
            entry.items.append(WorkItem("review", plan, f"พิจารณา{label} (เสนอคณะทำงานแล้ว)", detail))
        elif plan.status == Status.APPROVED:
            entry.items.append(WorkItem("sign", plan, f"ลงนามประกาศ{label} (คณะทำงานเห็นชอบแล้ว)",
                                        reverse("plans:sign", args=[plan.pk])))
        elif plan.status == Status.CHANGES_REQUESTED:
            reason = reasons.get(plan.pk, "")
            entry.items.append(WorkItem("changes", plan, f"แก้ไข{label} ที่คณะทำงานส่งกลับ", detail,
                                        [f"เหตุผล: {reason[:200]}"] if reason else []))
        else:
            entry.items.extend(_progress_items(plan, measures[plan.pk], today))
    return sorted(work.values(), key=lambda w: w.agency.name)


def _awaiting(by_role):
    """The plans awaiting someone with these roles ({role: agency ids})."""
    wanted = Q(pk__in=[])
    if by_role[Role.WORKING_GROUP]:
        wanted |= Q(agency_id__in=by_role[Role.WORKING_GROUP], status=Status.SUBMITTED)
    if by_role[Role.SIGNATORY]:
        wanted |= Q(agency_id__in=by_role[Role.SIGNATORY], status=Status.APPROVED)
    if by_role[Role.STAFF]:
        wanted |= Q(agency_id__in=by_role[Role.STAFF], status=Status.CHANGES_REQUESTED)
        wanted |= _current_signed(by_role[Role.STAFF])
    return wanted


def _plan_label(plan):
    suffix = f" ฉบับปรับปรุงครั้งที่ {plan.revision - 1}" if plan.revision > 1 else ""
    return f"แผนปีงบประมาณ {plan.target_year}{suffix}"


def _due(quarter, quarter_list, recorded):
    """A measure's progress for this quarter is due: planned for it (or for no quarter in
    particular) and not yet recorded."""
    return (not quarter_list or quarter in quarter_list) and quarter not in recorded


def _overdue(deadline, recorded, today):
    """Past its deadline, and its latest recorded quarter neither done nor cancelled."""
    return deadline is not None and deadline < today and (not recorded or recorded[max(recorded)] not in FINISHED)


def _current_quarter(target_year, today):
    start, end = thai.fiscal_year_range(target_year)
    return thai.fiscal_quarter_of(today) if start <= today <= end else None


def _progress_items(plan, measures, today):
    items = []
    url = reverse("plans:progress", args=[plan.pk])
    quarter = _current_quarter(plan.target_year, today)
    if quarter is not None:
        due = [m for m, recorded in measures if _due(quarter, m.quarter_list, recorded)]
        if due:
            items.append(WorkItem(
                "progress", plan,
                f"บันทึกผลการดำเนินงานไตรมาส {quarter} ของ{_plan_label(plan)}: ยังไม่ได้บันทึก {len(due)} มาตรการ",
                url, [m.title[:80] for m in due[:5]],
            ))
    overdue = [m for m, recorded in measures if _overdue(m.deadline, recorded, today)]
    if overdue:
        items.append(WorkItem(
            "overdue", plan,
            f"มาตรการเลยกำหนดแล้วเสร็จใน{_plan_label(plan)} {len(overdue)} มาตรการ",
            url, [f"{m.title[:80]} (กำหนด {thai.thai_date(m.deadline, 'arabic')})" for m in overdue[:5]],
        ))
    return items


def my_work_count(user, today=None, memberships=None):
    """The number of my_work's items, for the navigation on every page: the same rules on
    plain rows (roles, then the plans with the signed plans' measures and progress), with no
    agency, reason, label or link built, in at most two queries. `memberships`: the user's
    (role, agency id, province) rows, when the caller has read them (one query less)."""
    if not user.is_authenticated:
        return 0
    today = today or timezone.localdate()
    if memberships is None:
        memberships = Membership.objects.filter(user=user).values_list("role", "agency_id", "province")
    by_role = defaultdict(set)
    for role, agency_id, _ in memberships:
        if agency_id is not None and role != Role.PROVINCIAL:
            by_role[role].add(agency_id)
    if not by_role:
        return 0
    awaiting = Plan.objects.filter(_awaiting(by_role)).order_by()
    if not by_role[Role.STAFF]:
        # Only staff have signed plans to report on: the plans alone.
        return awaiting.count()
    # One query: the plans with, for a signed one, its measures and each recorded quarter (a
    # row per quarter recorded; a plan awaiting someone brings its measures too, unread).
    rows = awaiting.values_list(
        "pk", "status", "target_year", "measures__pk", "measures__quarters", "measures__deadline",
        "measures__progress__quarter", "measures__progress__status",
    )
    plans, measures = {}, {}
    for plan_id, status, year, pk, planned, deadline, recorded_quarter, recorded_status in rows:
        plans[plan_id] = status, year
        if status != Status.SIGNED or pk is None:
            continue
        _, _, _, recorded = measures.setdefault(pk, (plan_id, planned, deadline, {}))
        if recorded_quarter is not None:
            recorded[recorded_quarter] = recorded_status
    # Each plan waiting for a review, a signature or changes is one item.
    count = sum(1 for status, _ in plans.values() if status != Status.SIGNED)
    quarters = {pk: _current_quarter(year, today) for pk, (status, year) in plans.items() if status == Status.SIGNED}
    due, overdue = set(), set()
    for plan_id, planned, deadline, recorded in measures.values():
        quarter = quarters[plan_id]
        if quarter is not None and _due(quarter, quarter_numbers(planned), recorded):
            due.add(plan_id)
        if _overdue(deadline, recorded, today):
            overdue.add(plan_id)
    # A signed plan: one item for the quarter's progress due, one for measures overdue.
    return count + len(due) + len(overdue)
