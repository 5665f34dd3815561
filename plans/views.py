from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import linebreaksbr
from django.template.defaultfilters import time as time_filter
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import template_localtime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from assessments import scoring
from assessments.models import Membership, agencies_for, compute_assessment
from assessments.views import _get_assessment_for_user
from ita_portal import thai, uploads
from ita_portal.forms import ThaiDateField
from ita_portal.markup import escape
from plans import services
from plans.models import Band, Measure, MeasureTemplate, Plan, Progress

Role = Membership.Role


def _get_agency_for_user(request, code):
    return get_object_or_404(agencies_for(request.user), code=code)


def _get_plan_for_user(request, pk):
    """The plan if the user may see its agency, else 404, with the user's roles in that agency
    as plan.viewer_roles. The rule is agencies_for's (a role in the agency, or provincial officer
    of its province; a superuser sees all), checked here on the user's memberships in one plain
    query: filtering on the agencies_for subquery, then asking for the roles again, cost more
    Python than the rest of a page's queries together."""
    plan = get_object_or_404(Plan.objects.select_related("agency", "assessment__fiscal_year"), pk=pk)
    user = request.user
    if not user.is_authenticated:
        raise Http404("ไม่พบแผนนี้")
    memberships = list(Membership.objects.filter(user=user).values_list("role", "agency_id", "province"))
    # Read again by the navigation (ita_portal.context_processors.roles) for this request.
    request.membership_rows = memberships
    roles = {role for role, agency_id, _ in memberships if agency_id == plan.agency_id and role != Role.PROVINCIAL}
    in_province = any(role == Role.PROVINCIAL and province == plan.agency.province for role, _, province in memberships)
    if not (roles or in_province or user.is_superuser):
        raise Http404("ไม่พบแผนนี้")
    plan.viewer_roles = roles
    return plan


def _get_measure_for_user(request, plan, measure_id):
    try:
        return plan.measures.get(pk=int(measure_id))
    except (Measure.DoesNotExist, TypeError, ValueError):
        raise Http404("ไม่พบมาตรการนี้ในแผน") from None


def _error_text(error):
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


def _add_service_errors(form, error):
    """A service's ValidationError shown on the form: each message under its field, or above
    the form when the service names no field of this form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _roles(user, agency):
    if not user.is_authenticated:
        return set()
    return set(Membership.objects.filter(user=user, agency=agency).values_list("role", flat=True))


@login_required
def my_work_page(request):
    from plans.my_work import my_work

    return render(request, "plans/my_work.html", {"work": my_work(request.user)})


@login_required
def agency_detail(request, code):
    agency = _get_agency_for_user(request, code)
    assessments = list(agency.assessments.select_related("fiscal_year").order_by("-fiscal_year__year"))
    plans = list(agency.plans.select_related("assessment__fiscal_year").order_by("-target_year", "-revision"))
    roles = _roles(request.user, agency)
    return render(
        request,
        "plans/agency.html",
        {"agency": agency, "assessments": assessments, "plans": plans, "is_staff_member": Role.STAFF in roles},
    )


@login_required
@require_POST
def draft_plan(request, pk):
    assessment = _get_assessment_for_user(request, pk)
    try:
        plan, created = services.plan_draft_from_assessment(assessment=assessment, user=request.user)
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, _error_text(error))
        return redirect("plans:agency", code=assessment.agency.code)
    if created:
        messages.success(request, f"สร้างร่างแผนปีงบประมาณ {plan.target_year} จากผลการประเมินแล้ว มาตรการ {plan.measures.count()} รายการ")
    else:
        messages.info(request, "มีแผนของปีนี้อยู่แล้ว จึงเปิดแผนเดิมให้")
    return redirect("plans:detail", pk=plan.pk)


# The length is checked by the services (services.comment_text), which refuse a longer
# comment with a message naming the field; the browser stops typing at the same limit.
COMMENT_WIDGET = forms.Textarea(attrs={"rows": 2, "maxlength": services.COMMENT_MAX_CHARS})


class CommentForm(forms.Form):
    body = forms.CharField(label="ความเห็น", widget=COMMENT_WIDGET)
    measure = forms.IntegerField(required=False, widget=forms.HiddenInput)


class DecisionForm(forms.Form):
    comment = forms.CharField(label="ความเห็นประกอบ", widget=COMMENT_WIDGET, required=False)


def plan_be_years(plan):
    """The BE years a date on this plan can take (services.plan_date_window)."""
    first, last = services.plan_date_window(plan)
    return range(first.year + 543, last.year + 544)


class MeasureForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    band = forms.ChoiceField(label="กลุ่ม", choices=Band.choices)
    weakness = forms.CharField(label="ประเด็นที่เป็นข้อบกพร่อง/ที่ต้องพัฒนา", required=False, max_length=4000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    title = forms.CharField(label="มาตรการ/โครงการ/กิจกรรม", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                            error_messages={"required": "กรุณาระบุมาตรการ/โครงการ/กิจกรรม"})
    analysis = forms.CharField(label="ผลการวิเคราะห์ที่สอดคล้องกับผลการประเมิน", required=False, max_length=4000,
                               widget=forms.Textarea(attrs={"rows": 3}))
    steps = forms.CharField(label="ขั้นตอนหรือวิธีการปฏิบัติ", required=False, max_length=4000,
                            widget=forms.Textarea(attrs={"rows": 3}))
    quarters = forms.MultipleChoiceField(
        label="ระยะเวลา (ไตรมาสของปีงบประมาณ)", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[("1", "ไตรมาส 1 (ต.ค.–ธ.ค.)"), ("2", "ไตรมาส 2 (ม.ค.–มี.ค.)"), ("3", "ไตรมาส 3 (เม.ย.–มิ.ย.)"),
                 ("4", "ไตรมาส 4 (ก.ค.–ก.ย.)")],
    )
    units = forms.CharField(label="ส่วนราชการที่รับผิดชอบ", required=False, max_length=1000,
                            help_text="ชื่อกองคั่นด้วยจุลภาค เช่น สำนักปลัด, กองคลัง หรือ ทุกกอง")
    owner = forms.CharField(label="ผู้รับผิดชอบหลัก", required=False, max_length=200, help_text="ชื่อหรือตำแหน่ง")
    deadline = ThaiDateField(label="กำหนดแล้วเสร็จ", required=False)
    monitoring = forms.CharField(label="แนวทางการกำกับติดตาม", required=False, max_length=4000,
                                 widget=forms.Textarea(attrs={"rows": 2}))
    questions = forms.MultipleChoiceField(label="ข้อคำถามที่มาตรการนี้แก้ไข", required=False,
                                          widget=forms.SelectMultiple(attrs={"size": 5}))

    def __init__(self, *args, plan, question_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["questions"].choices = question_choices
        self.fields["deadline"].set_years(plan_be_years(plan))


def measure_initial(measure):
    return {
        "version": measure.version, "band": measure.band, "weakness": measure.weakness, "title": measure.title,
        "analysis": measure.analysis, "steps": measure.steps, "quarters": [str(q) for q in measure.quarter_list],
        "units": "ทุกกอง" if measure.all_units else ", ".join(u.name for u in measure.units.all()), "owner": measure.owner, "deadline": measure.deadline,
        "monitoring": measure.monitoring, "questions": [q.code for q in measure.questions.all()],
    }


def question_choices(plan):
    from assessments.models import FrameworkItem

    return [
        (q.code, f"{q.code} {q.name[:70]}")
        for q in FrameworkItem.objects.filter(fiscal_year=plan.assessment.fiscal_year_id, kind="question").order_by("order")
    ]


def _form_errors(form):
    return "; ".join(
        f"{form.fields[f].label}: {m}" if f in form.fields else m for f, errors in form.errors.items() for m in errors
    )


@login_required
def plan_detail(request, pk):
    plan = _get_plan_for_user(request, pk)
    return _render_plan(request, plan)


def _render_plan(request, plan, bound=None, status=200):
    """The plan page; `bound` is a measure's editor form sent back with its errors.

    Its cost is bounded per page, not per measure (tests/plans/test_page_work.py): the measures
    come with their questions, units and comments in a fixed number of queries, and everything
    derived from them (uncovered questions and indicators, the checklist) is computed from
    those lists. A measure's edit form is built only when asked for (measure_edit)."""
    result = compute_assessment(plan.assessment)
    indicator_figures = result.of_kind(scoring.INDICATOR)
    indicators = sorted(
        indicator_figures, key=lambda f: (-(f.value or 0), int(f.node.code) if f.node.code.isdigit() else 0)
    )
    measures = list(plan.measures.select_related("indicator").order_by("indicator__order", "order", "pk"))
    questions, unit_names = services.measure_questions(plan), services.measure_unit_names(plan)
    # Every comment of the plan in one query, then shared out: on a measure or on the plan.
    comments = {}
    for comment in plan.comments.select_related("author"):
        comments.setdefault(comment.measure_id, []).append(comment)
    roles = plan.viewer_roles
    can_edit = Role.STAFF in roles and plan.is_editable
    if can_edit:
        move_url, edit_url, delete_url = (
            _address_of_each(name, plan.pk) for name in ("plans:measure_move", "plans:measure_edit", "plans:measure_delete")
        )
    groups = {}
    for measure in measures:
        if can_edit:
            measure.move_url, measure.edit_url, measure.delete_url = (
                move_url(measure.pk), edit_url(measure.pk), delete_url(measure.pk)
            )
            measure.short_title = _truncate(measure.title, 60)  # named in the delete confirmation
        measure.comment_list = comments.get(measure.pk, ())
        measure.questions_text = "; ".join(f"{code} {name}" for code, name in questions.get(measure.pk, ()))
        measure.units_text = measure.units_display(unit_names.get(measure.pk, ()))
        # Only the form sent back with its errors is on the page, open where it was written.
        measure.edit_form = bound if bound is not None and bound.prefix == f"m{measure.pk}" else None
        groups.setdefault(measure.indicator, []).append(measure)
    for group in groups.values():
        for position, measure in enumerate(group):
            measure.is_first, measure.is_last = position == 0, position == len(group) - 1
    csrf_input = _csrf_input(request)
    comment_url = reverse("plans:comment", args=[plan.pk])
    can_comment = bool(roles & {Role.WORKING_GROUP, Role.STAFF}) and not plan.is_signed
    for measure in measures:
        measure.html = _measure_html(
            request, plan, measure, can_edit=can_edit, can_comment=can_comment, csrf_input=csrf_input,
            comment_url=comment_url,
        )
    covered = {code for items in questions.values() for code, _ in items}
    uncovered = services.uncovered_urgent_questions(plan, result, covered)
    # Only a signed plan is revised (services.plan_revise).
    next_revision = Plan.objects.filter(previous=plan).first() if plan.is_signed else None
    transitions = list(plan.transitions.select_related("actor"))
    context = {
        "plan": plan,
        "agency": plan.agency,
        "result": result,
        "indicator_rows": _indicator_rows_html(indicators),
        "groups": list(groups.items()),
        "measure_count": len(measures),
        "changes": services.revision_changes(plan),
        "next_revision": next_revision,
        "uncovered": uncovered,
        "uncovered_indicators": services.uncovered_indicators(plan, result, measures) if can_edit else [],
        "transitions": transitions,
        "general_comments": comments.get(None, ()),
        "roles": roles,
        "can_submit": Role.STAFF in roles and plan.is_editable,
        "can_review": Role.WORKING_GROUP in roles and plan.status == Plan.Status.SUBMITTED,
        "can_comment": can_comment,
        "can_sign": Role.SIGNATORY in roles and plan.status == Plan.Status.APPROVED,
        "can_revise": Role.STAFF in roles and plan.is_signed and next_revision is None,
        "can_edit": can_edit,
        "library": _library_groups() if can_edit else [],
        "plan_indicators": sorted(
            indicator_figures, key=lambda f: int(f.node.code) if f.node.code.isdigit() else 0
        ) if can_edit else [],
        "progress_percent": services.plan_progress_percent(plan, measures) if plan.is_signed else None,
        "checklist": services.plan_checklist(plan, result, measures, uncovered, unit_names)
        if (Role.STAFF in roles and plan.is_editable) or (roles & {Role.WORKING_GROUP, Role.SIGNATORY} and not plan.is_signed)
        else None,
        "sent_back": _last_send_back(transitions) if plan.status == Plan.Status.CHANGES_REQUESTED else None,
        # The forms repeated per measure or question carry it ({% csrf_token %} once per page).
        "csrf_input": csrf_input,
        "comment_url": comment_url,
        "add_url": reverse("plans:measure_add", args=[plan.pk]),
        "comment_form": CommentForm(),
        "decision_form": DecisionForm(),
    }
    return render(request, "plans/plan_detail.html", context, status=status)


TRIAGE_MARKS = {scoring.Triage.URGENT: "▲", scoring.Triage.IMPROVE: "●"}


def _indicator_rows_html(indicators):
    """The rows of the plan page's table of indicators, highest score first, as the template
    wrote them ({{ value }} is escape(localize(value)): None shows as "None", as it did)."""
    rows = []
    for number, f in enumerate(indicators, 1):
        triage = f.triage
        value, label = (triage.value, triage.label) if triage is not None else ("", "")
        rows.append(
            f"<tr><td>{number}</td><td>ตัวชี้วัดที่ {escape(f.node.code)} {escape(f.node.name)}</td>"
            f'<td>{escape(f.node.parent)}</td><td class="num">{escape(formats.localize(f.display))}</td>\n'
            f'<td><span class="triage triage-{escape(value)}">{TRIAGE_MARKS.get(triage, "✓")} {escape(label)}</span></td></tr>\n'
        )
    return mark_safe("".join(rows))


def _measure_html(request, plan, m, *, can_edit, can_comment, csrf_input, comment_url):
    """One measure of the plan page, <article class="measure">: its figures, the editor's tools
    (staff, while the plan is editable), its comments and the comment form. Written here rather
    than in the template, as the template wrote it, each value escaped the same way: a plan has
    ten to forty measures, and the template engine spent more on them than on the rest of the
    page. The edit form sent back with its errors is still the template's (plans/_measure_form.html)."""
    score = f' <span class="muted">({escape(formats.localize(m.score))} คะแนน)</span>' if m.score is not None else ""
    rows = []
    if m.questions_text:
        rows.append(f"<dt>ข้อคำถาม</dt><dd>{escape(m.questions_text)}</dd>")
    for value, term in ((m.weakness, "ประเด็นที่ต้องแก้ไข/พัฒนา"), (m.analysis, "ผลการวิเคราะห์"),
                        (m.steps, "ขั้นตอนหรือวิธีการปฏิบัติ")):
        if value:
            rows.append(f'<dt>{term}</dt><dd class="pre">{escape(value)}</dd>')
    rows.append(f"<dt>ระยะเวลา</dt><dd>{escape(m.period_display())}</dd>")
    rows.append(f"<dt>ผู้รับผิดชอบ</dt><dd>{escape(m.units_text)}</dd>")
    if m.deadline:
        rows.append(f"<dt>กำหนดแล้วเสร็จ</dt><dd>{escape(thai.thai_date(m.deadline, 'arabic'))}</dd>")
    if m.monitoring:
        rows.append(f'<dt>การกำกับติดตาม</dt><dd class="pre">{escape(m.monitoring)}</dd>')
    parts = [
        f'<article class="measure" id="measure-{m.pk}">\n'
        f'<header><span class="triage triage-{escape(m.band)}">{escape(m.get_band_display())}</span> '
        f"<strong>{escape(m.title)}</strong>{score}</header>\n"
        f"<dl>{''.join(rows)}</dl>\n"
    ]
    if can_edit:
        parts.append(_measure_tools_html(request, plan, m, csrf_input))
    if m.comment_list:
        parts.append(f'<ul class="comments">{"".join(_comment_html(c) for c in m.comment_list)}</ul>\n')
    if can_comment:
        parts.append(
            f'<form method="post" action="{escape(comment_url)}" class="comment-form">{csrf_input}\n'
            f'<input type="hidden" name="measure" value="{m.pk}">\n'
            '<label>ความเห็นต่อมาตรการนี้ <textarea name="body" rows="2" required maxlength="4000"></textarea></label>\n'
            '<button type="submit">ส่งความเห็น</button>\n</form>\n'
        )
    parts.append("</article>\n")
    return mark_safe("".join(parts))


def _measure_tools_html(request, plan, m, csrf_input):
    """The staff's tools on a measure: move up or down, the editor (fetched when opened, see
    measure_edit; the form sent back with its errors is on the page, open), and delete."""
    move = (
        '<form method="post" action="{url}" class="inline">{csrf}<input type="hidden" name="direction" value="{d}">'
        '<button type="submit" class="small-button" aria-label="เลื่อนมาตรการนี้{where}">{label}</button></form>\n'
    )
    parts = ['<div class="measure-tools">\n']
    if not m.is_first:
        parts.append(move.format(url=escape(m.move_url), csrf=csrf_input, d="up", where="ขึ้น", label="▲ ขึ้น"))
    if not m.is_last:
        parts.append(move.format(url=escape(m.move_url), csrf=csrf_input, d="down", where="ลง", label="▼ ลง"))
    if m.edit_form is not None:
        form = render_to_string("plans/_measure_form.html", {"plan": plan, "m": m, "form": m.edit_form}, request)
        parts.append(f'<details class="measure-edit" open>\n<summary>แก้ไขมาตรการนี้</summary>\n{form}</details>\n')
    else:
        # Rendered on demand: plan_editor.js fetches the form when this opens; without script the link opens it as a page.
        edit_url = escape(m.edit_url)
        parts.append(
            '<details class="measure-edit">\n<summary>แก้ไขมาตรการนี้</summary>\n'
            f'<p class="measure-editor-slot" data-editor-url="{edit_url}?partial=1"><a href="{edit_url}">'
            "เปิดแบบฟอร์มแก้ไขมาตรการนี้</a></p>\n</details>\n"
        )
    title = escape(m.short_title)
    parts.append(
        '<details class="measure-delete">\n<summary>ลบมาตรการนี้</summary>\n'
        f'<form method="post" action="{escape(m.delete_url)}" data-confirm="ลบมาตรการ “{title}” ออกจากแผน? '
        f'การลบย้อนกลับไม่ได้">{csrf_input}\n'
        f'<input type="hidden" name="version" value="{m.version}">\n'
        f'<label class="check"><input type="checkbox" name="confirm" value="1" required> ยืนยันการลบมาตรการ “{title}”</label>\n'
        '<button type="submit" class="warn">ลบมาตรการ</button>\n</form>\n</details>\n</div>\n'
    )
    return "".join(parts)


def _comment_html(c):
    author = c.author.get_full_name() or c.author.username
    when = f"{thai.thai_date_short(c.created_at, 'arabic')} {time_filter(template_localtime(c.created_at), 'H:i')}"
    return (
        f'<li><strong>{escape(author)}</strong> <span class="muted">{escape(when)}</span><br>'
        f"{linebreaksbr(c.body, autoescape=True)}</li>"
    )


def _address_of_each(name, *args):
    """pk -> reverse(name, args=[*args, pk]), reversing once: the plan page has several
    addresses per measure, and reverse() costs more than the rest of a measure's markup."""
    marker = "2147483647"
    head, _, tail = reverse(name, args=[*args, marker]).rpartition(marker)
    return lambda pk: f"{head}{pk}{tail}"


def _truncate(text, length):
    """text|truncatechars:length, without walking every character of a text that fits (the
    filter checks each for a combining mark, costly for Thai on a page of many measures)."""
    return text if len(text) <= length else Truncator(text).chars(length)


def _last_send_back(transitions):
    sent_back = [t for t in transitions if t.to_status == Plan.Status.CHANGES_REQUESTED]
    return max(sent_back, key=lambda t: (t.at, t.pk)) if sent_back else None


def _library_groups():
    """The measure library for the "add from the library" list: (indicator number, its
    <option>s as one string), the options joined here rather than one template loop each."""
    groups = {}
    templates = MeasureTemplate.objects.order_by("indicator_number", "question_code", "band", "key").values_list(
        "pk", "indicator_number", "question_code", "title"
    )
    for pk, number, question_code, title in templates:
        label = f"{question_code}: {_truncate(title, 90)}" if question_code else _truncate(title, 90)
        groups.setdefault(number, []).append((pk, label))
    return [
        (number, mark_safe("".join(f'<option value="{pk}">{escape(label)}</option>' for pk, label in options)))
        for number, options in sorted(groups.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 99)
    ]


def _refused(request, plan, error, back="plans:detail"):
    """A service's refusal: PermissionDenied as the 403 page, ValidationError as a message on `back`."""
    if isinstance(error, PermissionDenied):
        return render(request, "plans/refused.html", {"plan": plan, "message": _error_text(error)}, status=403)
    messages.error(request, _error_text(error))
    return redirect(back, pk=plan.pk)


@login_required
@require_POST
def measure_add(request, pk):
    plan = _get_plan_for_user(request, pk)
    template = None
    template_id = request.POST.get("template", "")
    if template_id:
        try:
            template = MeasureTemplate.objects.get(pk=int(template_id))
        except (MeasureTemplate.DoesNotExist, ValueError):
            raise Http404("ไม่พบรายการในคลังมาตรการ") from None
    try:
        measure = services.measure_add(
            plan=plan, user=request.user, template=template,
            indicator_code=request.POST.get("indicator", "")[:8], question_code=request.POST.get("question", "")[:16],
            from_library=request.POST.get("from_library") == "1",
        )
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, plan, error)
    messages.success(request, f"เพิ่มมาตรการ “{measure.title[:60]}” แล้ว แก้ไขรายละเอียดได้ที่มาตรการนั้น")
    return redirect(f"{reverse('plans:detail', args=[plan.pk])}#measure-{measure.pk}")


EDIT_REFUSED = "แก้ไขมาตรการได้เฉพาะเจ้าหน้าที่ของหน่วยงานนี้ ขณะแผนเป็นร่างหรือถูกส่งกลับ"


@login_required
@never_cache
def measure_edit(request, pk, measure_id):
    """A measure's edit form: the plan page fetches it (?partial=1) when its editor is opened,
    and links here as a page of its own for a browser without script."""
    plan = _get_plan_for_user(request, pk)
    measure = _get_measure_for_user(request, plan, measure_id)
    if Role.STAFF not in plan.viewer_roles or not plan.is_editable:
        return _refused(request, plan, PermissionDenied(EDIT_REFUSED))
    form = MeasureForm(
        prefix=f"m{measure.pk}", initial=measure_initial(measure), plan=plan, question_choices=question_choices(plan)
    )
    template = "plans/_measure_form.html" if request.GET.get("partial") == "1" else "plans/measure_edit.html"
    return render(request, template, {"plan": plan, "m": measure, "form": form})


@login_required
@require_POST
def measure_update(request, pk, measure_id):
    plan = _get_plan_for_user(request, pk)
    measure = _get_measure_for_user(request, plan, measure_id)
    form = MeasureForm(request.POST, prefix=f"m{measure.pk}", plan=plan, question_choices=question_choices(plan))
    if form.is_valid():
        data = {**form.cleaned_data}
        version = data.pop("version")
        try:
            services.measure_update(measure=measure, user=request.user, data=data, expected_version=version)
        except PermissionDenied as error:
            return _refused(request, plan, error)
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            messages.success(request, f"บันทึกมาตรการ “{measure.title[:60]}” แล้ว")
            return redirect(f"{reverse('plans:detail', args=[plan.pk])}#measure-{measure.pk}")
    if Role.STAFF not in plan.viewer_roles or not plan.is_editable:
        return _refused(request, plan, PermissionDenied(EDIT_REFUSED))
    messages.error(request, f"ยังไม่ได้บันทึกมาตรการ “{measure.title[:60]}”: {_form_errors(form)}")
    return _render_plan(request, plan, bound=form, status=400)


@login_required
@require_POST
def measure_move(request, pk, measure_id):
    plan = _get_plan_for_user(request, pk)
    measure = _get_measure_for_user(request, plan, measure_id)
    direction = {"up": -1, "down": 1}.get(request.POST.get("direction"), 0)
    try:
        services.measure_move(measure=measure, user=request.user, direction=direction)
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, plan, error)
    return redirect(f"{reverse('plans:detail', args=[plan.pk])}#measure-{measure.pk}")


@login_required
@require_POST
def measure_delete(request, pk, measure_id):
    plan = _get_plan_for_user(request, pk)
    measure = _get_measure_for_user(request, plan, measure_id)
    if request.POST.get("confirm") != "1":
        messages.error(request, "กรุณาทำเครื่องหมาย “ยืนยันการลบ” ก่อนลบมาตรการ")
        return redirect(f"{reverse('plans:detail', args=[plan.pk])}#measure-{measure.pk}")
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = None
    title = measure.title
    try:
        services.measure_delete(measure=measure, user=request.user, expected_version=version)
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, plan, error)
    messages.success(request, f"ลบมาตรการ “{title[:60]}” แล้ว")
    return redirect(f"{reverse('plans:detail', args=[plan.pk])}#measures")


@login_required
@require_POST
def plan_comment(request, pk):
    plan = _get_plan_for_user(request, pk)
    form = CommentForm(request.POST)
    measure = None
    if form.is_valid() and form.cleaned_data["measure"]:
        measure = _get_measure_for_user(request, plan, form.cleaned_data["measure"])
    # Back to where the comment was written, not the top of a long page.
    anchor = f"#measure-{measure.pk}" if measure is not None else "#general-comments"
    back = f"{reverse('plans:detail', args=[plan.pk])}{anchor}"
    if not form.is_valid():
        messages.error(request, "กรุณาพิมพ์ความเห็น")
        return redirect(back)
    try:
        services.measure_comment(plan=plan, user=request.user, body=form.cleaned_data["body"], measure=measure)
        messages.success(request, "บันทึกความเห็นแล้ว")
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, _error_text(error))
    return redirect(back)


TRANSITIONS = {
    "submit": (services.plan_submit, "เสนอแผนต่อคณะทำงานแล้ว"),
    "request_changes": (services.plan_request_changes, "ส่งแผนกลับให้แก้ไขแล้ว"),
    "approve": (services.plan_approve, "เห็นชอบแผนแล้ว"),
}


@login_required
@require_POST
def plan_transition(request, pk, action):
    plan = _get_plan_for_user(request, pk)
    if action not in TRANSITIONS:
        raise Http404("ไม่มีขั้นตอนนี้")
    service, done = TRANSITIONS[action]
    form = DecisionForm(request.POST)
    if not form.is_valid():
        # Never decide without the comment that was sent.
        messages.error(request, "ยังไม่ได้บันทึก: " + " ".join(m for errors in form.errors.values() for m in errors))
        return redirect("plans:detail", pk=plan.pk)
    comment = form.cleaned_data["comment"]
    try:
        service(plan=plan, user=request.user, comment=comment)
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, plan, error)
    messages.success(request, done)
    return redirect("plans:detail", pk=plan.pk)


@login_required
@require_POST
def plan_revise(request, pk):
    plan = _get_plan_for_user(request, pk)
    try:
        new = services.plan_revise(plan=plan, user=request.user)
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, plan, error)
    messages.success(request, "สร้างฉบับปรับปรุงแล้ว ฉบับที่ลงนามแล้วยังคงเดิม")
    return redirect("plans:detail", pk=new.pk)


class SignForm(forms.Form):
    signatory_name = forms.CharField(label="ชื่อผู้ลงนาม (ตามที่จะพิมพ์ในวงเล็บ)", max_length=200)
    signatory_position = forms.CharField(label="ตำแหน่ง", max_length=300)
    announced_on = ThaiDateField(label="วันที่ประกาศ")
    meeting_number = forms.CharField(label="การประชุมคณะทำงาน ครั้งที่", max_length=20, help_text="เช่น 1/2568")
    meeting_date = ThaiDateField(label="วันที่ประชุมคณะทำงาน")
    # A FileField, not an ImageField: uploads.validate_signature_image reads the content itself
    # and answers in Thai, naming the field.
    signature_image = forms.FileField(
        label="ภาพลายมือชื่อ (ถ้ามี)",
        required=False,
        validators=[uploads.validate_signature_image],
        help_text="PNG หรือ JPEG ไม่เกิน 2 MB",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    confirm = forms.BooleanField(label="ข้าพเจ้าตรวจสอบแผนแล้ว และยืนยันการลงนามประกาศ", required=True)

    def __init__(self, *args, plan, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("announced_on", "meeting_date"):
            self.fields[name].set_years(plan_be_years(plan))

    def clean_signature_image(self):
        return uploads.with_random_name(self.cleaned_data["signature_image"])


@login_required
def plan_sign(request, pk):
    plan = _get_plan_for_user(request, pk)
    if Role.SIGNATORY not in plan.viewer_roles:
        return render(request, "plans/refused.html", {"plan": plan, "message": "ลงนามประกาศได้เฉพาะผู้ลงนามของหน่วยงานนี้"}, status=403)
    if request.method == "POST":
        form = SignForm(request.POST, request.FILES, plan=plan)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.plan_sign(
                    plan=plan,
                    user=request.user,
                    signatory_name=data["signatory_name"],
                    signatory_position=data["signatory_position"],
                    announced_on=data["announced_on"],
                    meeting_number=data["meeting_number"],
                    meeting_date=data["meeting_date"],
                    signature_image=data["signature_image"],
                )
            except ValidationError as error:
                _add_service_errors(form, error)
            else:
                messages.success(request, "ลงนามประกาศแล้ว แผนนี้ถูกล็อกไม่ให้แก้ไข")
                return redirect("plans:detail", pk=plan.pk)
    else:
        name = request.user.get_full_name()
        form = SignForm(
            plan=plan,
            initial={
                "signatory_name": name,
                "signatory_position": default_position(plan.agency),
            }
        )
    from plans.announcement import public_address_is_local, public_address_problem

    context = {
        "plan": plan, "agency": plan.agency, "form": form, "checklist": services.plan_checklist(plan),
        # Production: signing is refused until PUBLIC_BASE_URL is real. Demo: say where the QR code points.
        "address_problem": public_address_problem(),
        "local_address": settings.PUBLIC_BASE_URL
        if not settings.PUBLIC_BASE_URL_REQUIRED and public_address_is_local() else "",
    }
    return render(request, "plans/plan_sign.html", context)


def default_position(agency):
    """The chief executive's title as it prints: นายกองค์การบริหารส่วนตำบลพลสงคราม,
    นายกเทศมนตรีตำบลคึกคัก. The signatory can change it before signing."""
    name = agency.name
    if name.startswith("เทศบาล"):
        return "นายกเทศมนตรี" + name[len("เทศบาล"):]
    if name.startswith("องค์การบริหารส่วน"):
        return "นายก" + name
    return ""


class ProgressForm(forms.Form):
    status = forms.ChoiceField(label="สถานะ", choices=Progress.Status.choices)
    note = forms.CharField(label="ผลการดำเนินงาน", widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000)
    evidence_url = forms.URLField(label="ลิงก์หลักฐาน", required=False, assume_scheme="https")
    evidence_file = forms.FileField(
        label="ไฟล์หลักฐาน", required=False, validators=[uploads.validate_evidence_file]
    )

    def clean_evidence_file(self):
        return uploads.with_random_name(self.cleaned_data["evidence_file"])


@login_required
def plan_progress(request, pk):
    plan = _get_plan_for_user(request, pk)
    can_record = Role.STAFF in plan.viewer_roles and plan.is_signed
    if request.method == "POST":
        if Role.STAFF not in plan.viewer_roles:
            return render(request, "plans/refused.html", {"plan": plan, "message": "บันทึกผลได้เฉพาะเจ้าหน้าที่ของหน่วยงานนี้"}, status=403)
        measure = _get_measure_for_user(request, plan, request.POST.get("measure"))
        try:
            quarter = int(request.POST.get("quarter", ""))
        except ValueError:
            quarter = 0
        form = ProgressForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.progress_record(measure=measure, quarter=quarter, user=request.user, **form.cleaned_data)
                messages.success(request, f"บันทึกผลไตรมาส {quarter} ของมาตรการ “{measure.title[:40]}” แล้ว")
                return redirect("plans:progress", pk=plan.pk)
            except (PermissionDenied, ValidationError) as error:
                messages.error(request, _error_text(error))
        else:
            # Upload messages already name their field ("ไฟล์หลักฐาน: รองรับเฉพาะ…").
            errors = "; ".join(
                m if m.startswith(form.fields[f].label) else f"{form.fields[f].label}: {m}"
                for f, e in form.errors.items() for m in e
            )
            messages.error(request, f"ยังไม่ได้บันทึก: {errors}")
    # Three plain queries whatever the number of measures (tests/plans/test_page_work.py), and
    # each quarter's status list built here once per status, not per quarter in the template.
    measures = list(plan.measures.select_related("indicator"))
    unit_names = services.measure_unit_names(plan)
    progress = list(Progress.objects.filter(measure__plan_id=plan.pk).order_by("measure_id", "quarter"))
    by_measure = {}
    for p in progress:
        by_measure.setdefault(p.measure_id, {})[p.quarter] = p
    options = _status_options() if can_record else {}
    rows = []
    for measure in measures:
        recorded = by_measure.get(measure.pk, {})
        quarters = []
        for quarter in range(1, 5):
            p = recorded.get(quarter)
            # Numbers as text: the template would localise each of ~80 numbers on the page.
            quarters.append((str(quarter), p, options.get(p.status if p else None)))
        rows.append({"measure": measure, "pk": str(measure.pk), "quarters": quarters,
                     "units": measure.units_display(unit_names.get(measure.pk, ()))})
    return render(
        request,
        "plans/plan_progress.html",
        {
            "plan": plan,
            "agency": plan.agency,
            "rows": rows,
            "can_record": can_record,
            "percent": services.plan_progress_percent(plan, measures, progress),
            "csrf_input": _csrf_input(request) if can_record else "",
        },
    )


def _csrf_input(request):
    """{% csrf_token %}'s hidden input, built once for a page with a form per row."""
    return format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', get_token(request))


def _status_options(choices=Progress.Status.choices):
    """The <option>s of the progress status list, one string per status that can be selected
    (None: a quarter not yet recorded, the first status shown)."""
    def render_options(selected):
        return format_html_join(
            "", '<option value="{}"{}>{}</option>',
            ((value, mark_safe(" selected") if value == selected else "", label) for value, label in choices),
        )
    return {selected: render_options(selected) for selected in [None, *(value for value, _ in choices)]}


@login_required
def evidence_file(request, pk, progress_id):
    plan = _get_plan_for_user(request, pk)
    progress = get_object_or_404(Progress, pk=progress_id, measure__plan=plan)
    if not progress.evidence_file:
        raise Http404("ไม่มีไฟล์หลักฐาน")
    return FileResponse(progress.evidence_file.open("rb"), as_attachment=True)


@login_required
@require_POST
def publish_progress(request, pk):
    from plans.progress_report import progress_publish

    plan = _get_plan_for_user(request, pk)
    try:
        document = progress_publish(plan=plan, user=request.user)
    except (PermissionDenied, ValidationError) as error:
        return _refused(request, plan, error, back="plans:progress")
    messages.success(request, f"เผยแพร่ “{document.title}” บนหน้าสาธารณะของหน่วยงานแล้ว")
    return redirect("plans:progress", pk=plan.pk)
