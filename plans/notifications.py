"""E-mail to the people who must act next on a plan, through Django's e-mail framework.

| transition | who is told |
|---|---|
| submitted | the agency's working group |
| sent back (changes requested) | the agency's staff |
| approved | the agency's signatory |
| signed | the agency's staff (progress can be recorded) |

Recipients are only users holding that role in the plan's own agency, active, with an
e-mail address; the person who made the transition is not told of their own act. Each
recipient gets their own message (no list of other members' addresses). The services
call `plan_transition_notify` through transaction.on_commit, so nobody hears of a
transition that was rolled back; a mail server that fails is logged and never undoes it."""

import logging

from django.conf import settings
from django.core import mail
from django.urls import reverse

from assessments.models import Membership
from plans.models import Plan

logger = logging.getLogger(__name__)
Role = Membership.Role
Status = Plan.Status

NEXT = {
    Status.SUBMITTED: (Role.WORKING_GROUP, "เสนอแผนให้คณะทำงานพิจารณา", "กรุณาพิจารณาแผน แล้วเห็นชอบหรือส่งกลับให้แก้ไข"),
    Status.CHANGES_REQUESTED: (Role.STAFF, "คณะทำงานส่งแผนกลับให้แก้ไข", "กรุณาแก้ไขแผนตามความเห็น แล้วเสนอคณะทำงานอีกครั้ง"),
    Status.APPROVED: (Role.SIGNATORY, "คณะทำงานเห็นชอบแผนแล้ว รอลงนามประกาศ", "กรุณาตรวจสอบแผนและลงนามประกาศ"),
    Status.SIGNED: (Role.STAFF, "ลงนามประกาศแผนแล้ว", "เริ่มบันทึกผลการดำเนินงานรายไตรมาสได้ที่หน้าแผน"),
}


def plan_url(plan):
    """The plan page as an absolute address (PUBLIC_BASE_URL, the portal's public address)."""
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("plans:detail", args=[plan.pk])


def recipients(plan, role, exclude_user_id=None):
    """E-mail addresses of the agency's members holding `role`: never anyone outside the agency."""
    members = (
        Membership.objects.filter(agency_id=plan.agency_id, role=role, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__username")
    )
    seen, addresses = set(), []
    for membership in members:
        user = membership.user
        if user.pk == exclude_user_id or user.email.lower() in seen:
            continue
        seen.add(user.email.lower())
        addresses.append((user, user.email))
    return addresses


def plan_transition_notify(*, plan_id, to_status, actor_id=None, comment=""):
    """Send the e-mail of one transition; returns the number of messages sent."""
    if to_status not in NEXT:
        return 0
    plan = Plan.objects.select_related("agency").filter(pk=plan_id).first()
    if plan is None:
        return 0
    role, what, ask = NEXT[to_status]
    to = recipients(plan, role, exclude_user_id=actor_id)
    if not to:
        return 0
    link = plan_url(plan)
    subject = f"[ITA Portal] {plan.agency.name}: {what}"
    messages = []
    for user, address in to:
        lines = [
            f"เรียน คุณ{user.get_full_name() or user.username}",
            "",
            f"{what}: {plan}",
            f"สถานะปัจจุบัน: {plan.get_status_display()}",
        ]
        if comment.strip():
            lines.append(f"ความเห็นประกอบ: {comment.strip()}")
        lines += ["", ask, f"เปิดแผน: {link}", "", "ข้อความนี้ส่งจาก ITA Portal ถึงผู้มีบทบาทในหน่วยงานเท่านั้น"]
        messages.append(mail.EmailMessage(subject, "\n".join(lines), to=[address]))
    try:
        return mail.get_connection().send_messages(messages) or 0
    except Exception:  # a mail server outage must never undo or block the transition
        logger.exception("ส่งอีเมลแจ้งเตือนแผน %s ไม่สำเร็จ", plan_id)
        return 0
