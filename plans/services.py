"""State changes of improvement plans: draft, submit, request changes, approve,
sign, revise, comment and progress. Each checks role and state and raises
ValidationError or PermissionDenied with a Thai message."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from assessments import scoring
from assessments.models import FrameworkItem, Membership, compute_assessment, has_role
from assessments.services import version_claim
from ita_portal import thai
from plans.models import AgencyUnit, Band, Measure, MeasureTemplate, Plan, Progress, ReviewComment, Transition
from plans.prerender import documents_enqueue_after_commit

Role = Membership.Role
Status = Plan.Status
ALL_UNITS = "ทุกกอง"


def _require_role(user, plan_or_agency_id, *roles, action):
    agency_id = plan_or_agency_id if isinstance(plan_or_agency_id, int) else plan_or_agency_id.agency_id
    if not has_role(user, agency_id, *roles):
        labels = " หรือ ".join(str(Role(r).label).split(" (")[0] for r in roles)
        raise PermissionDenied(f"{action}ได้เฉพาะ{labels}ของหน่วยงานนี้")


def _require_status(plan, *statuses, action):
    if plan.status not in statuses:
        raise ValidationError(f"{action}ไม่ได้ เพราะแผนอยู่ในสถานะ “{plan.get_status_display()}”")


def plan_claim_version(*, plan, expected_version=None):
    """Refuse a save made from a copy of the plan older than the stored one (no lost updates).

    `expected_version` is the version the form or page was loaded with; by default the
    version of `plan` as the caller loaded it. Bumps the version in the caller's transaction
    (which locks the row until it ends) and raises EditConflict if the plan changed meanwhile."""
    expected = plan.version if expected_version is None else expected_version
    plan.version = version_claim(Plan, plan.pk, expected)
    documents_enqueue_after_commit(plan_ids=[plan.pk])  # every save of a plan changes its documents


# Decision comments, reasons for sending back and review comments: longer ones are refused
# with a message, never cut or dropped (issue 11).
COMMENT_MAX_CHARS = 4000


def comment_text(text, *, label):
    """The comment as stored: line ends as the browser's textarea counts them (one character,
    where the form posts CRLF), refused with a Thai message naming `label` and the limit
    when longer than COMMENT_MAX_CHARS."""
    text = text.replace("\r\n", "\n")
    if len(text) > COMMENT_MAX_CHARS:
        raise ValidationError(
            f"{label}ยาว {thai.thai_digits(f'{len(text):,}')} ตัวอักษร เกินที่รับได้ "
            f"{thai.thai_digits(f'{COMMENT_MAX_CHARS:,}')} ตัวอักษร จึงยังไม่ได้บันทึก กรุณาย่อให้สั้นลงแล้วส่งอีกครั้ง",
            code="comment_too_long",
        )
    return text


def _record(plan, to_status, actor, comment="", expected_version=None, fields=()):
    comment = comment_text(comment, label="ความเห็นประกอบ")
    # A transition is a save of the plan: it bumps the version, so a form opened before it
    # is refused, and of two decisions taken on the same copy only the first passes.
    plan_claim_version(plan=plan, expected_version=expected_version)
    Transition.objects.create(plan=plan, from_status=plan.status, to_status=to_status, actor=actor, comment=comment)
    plan.status = to_status
    plan._history_user = actor
    plan.save(update_fields=["status", "updated_at", "version", *fields])
    _notify_after_commit(plan, to_status, actor, comment)


def _notify_after_commit(plan, to_status, actor, comment=""):
    # After commit: nobody is told of a transition that was rolled back.
    from functools import partial

    from plans.notifications import plan_transition_notify

    transaction.on_commit(
        partial(plan_transition_notify, plan_id=plan.pk, to_status=to_status, actor_id=actor.pk, comment=comment)
    )


# A date further than this from today is a typing slip (a BE year typed into a Gregorian
# field gives 3112), never a real announcement, meeting or deadline.
MAX_DATE_DISTANCE = datetime.timedelta(days=366)


def plan_date_window(plan):
    """Dates a plan may carry: from the start of the assessed fiscal year (when the results
    come out and the plan is drafted) to the end of the plan's own fiscal year.
    FY2569 plan → 1 Oct 2024 – 30 Sep 2026."""
    return thai.fiscal_year_range(plan.target_year - 1)[0], thai.fiscal_year_range(plan.target_year)[1]


def portal_today():
    """Today in Asia/Bangkok: the one clock the date checks read (tests pin it to the demo's year)."""
    return timezone.localdate()


def plan_date_problem(plan, value, label, today=None, *, recent=False):
    """The Thai reason a date entered on a plan cannot be right (naming the field and what
    was entered, in BE), or None. Refused: more than a year after today, or outside
    plan_date_window; with `recent` (the announcement and meeting dates a signatory types in
    now) also more than a year before today. A measure's deadline may lie further back: a
    revision carries the deadlines of the year before, and they must stay editable."""
    if value is None:
        return None
    today = today or portal_today()
    entered = thai.thai_date(value, "arabic")
    if value > today + MAX_DATE_DISTANCE:
        return (f"{label}ต้องไม่เกินหนึ่งปีนับจากวันนี้ (กรอกมา {entered}) "
                "กรุณาตรวจสอบปี พ.ศ. อีกครั้ง")
    first, last = plan_date_window(plan)
    if not first <= value <= last:
        return (f"{label}ต้องอยู่ระหว่าง {thai.thai_date(first, 'arabic')} ถึง {thai.thai_date(last, 'arabic')} "
                f"(ปีงบประมาณที่ประเมินและปีงบประมาณ {plan.target_year} ของแผน) แต่กรอกมา {entered}")
    if recent and value < today - MAX_DATE_DISTANCE:
        return (f"{label}ต้องไม่ย้อนหลังเกินหนึ่งปีนับจากวันนี้ (กรอกมา {entered}) "
                "กรุณาตรวจสอบปี พ.ศ. อีกครั้ง")
    return None


MEASURE_DATE_FIELDS = {"period_start": "วันเริ่มดำเนินการ", "period_end": "วันสิ้นสุดการดำเนินการ", "deadline": "กำหนดแล้วเสร็จ"}


def measure_date_errors(plan, values):
    """Errors by field for a measure's dates (values: field → date or None)."""
    errors = {}
    for field, label in MEASURE_DATE_FIELDS.items():
        problem = plan_date_problem(plan, values.get(field), label)
        if problem:
            errors[field] = problem
    start, end = values.get("period_start"), values.get("period_end")
    if start and end and end < start and "period_end" not in errors:
        errors["period_end"] = "วันสิ้นสุดการดำเนินการต้องไม่ก่อนวันเริ่มดำเนินการ"
    return errors


def question_is_urgent(figure, parts):
    """A question is urgent below 85, or when one of its EIT parts is below 85
    (EITSurvey 79.09 is a weak point even if the two parts average 89.55)."""
    if figure.triage == scoring.Triage.URGENT:
        return True
    code = figure.node.code
    return any(
        scoring.triage_of(parts.get((code, part))) == scoring.Triage.URGENT for part in (scoring.PUBLIC, scoring.SURVEY)
    )


@dataclass(frozen=True)
class UrgentItem:
    """A question, OIT item or sub-indicator below 85 by its lowest published part,
    with that part named (EITSurvey 79.09 for e3, whose two parts average 89.55)."""

    figure: scoring.Figure
    indicator: str
    part: str
    part_value: object

    @property
    def node(self):
        return self.figure.node

    @property
    def value(self):
        return self.figure.value

    @property
    def display(self):
        return self.figure.display

    @property
    def triage(self):
        return self.figure.triage

    @property
    def part_label(self):
        """What scored below 85: EITPublic / EITSurvey, an OIT item, a question."""
        if self.part:
            return scoring.PART_LABELS[self.part]
        if self.node.kind == scoring.SUB_INDICATOR:
            return "ตัวชี้วัดย่อย"
        return "รายการ" if self.node.code[:1] in ("O", "o") else "ข้อคำถาม"

    @property
    def weak_display(self):
        """The part below 85 and its score, then the question's own figure where it differs:
        "EITSurvey 79.09 (เฉลี่ยทั้งข้อ 89.55)"."""
        text = f"{self.part_label} {scoring.round2(self.part_value)}"
        if self.part and self.figure.value is not None:
            text += f" (เฉลี่ยทั้งข้อ {self.figure.display})"
        return text


def urgent_items(result):
    """Sub-indicators, questions and OIT items whose lowest published part is below 85,
    lowest first, each with its indicator and the part named."""
    items = []
    for figure in result.figures.values():
        if figure.node.kind not in (scoring.QUESTION, scoring.SUB_INDICATOR):
            continue
        part, value = scoring.lowest_part(figure, result.parts)
        if scoring.triage_of(value) != scoring.Triage.URGENT:
            continue
        indicator = _indicator_of(figure.node, result)
        items.append(UrgentItem(figure=figure, indicator=indicator or "", part=part, part_value=value))
    order = {code: f.node.order for code, f in result.figures.items()}
    items.sort(key=lambda i: (order.get(i.indicator, 0), i.node.kind != scoring.SUB_INDICATOR, i.node.order))
    return items


def _placeholders(agency, assessment, target_year, figure, question=None):
    return {
        "agency": agency.name,
        "indicator": thai.thai_digits(f"ตัวชี้วัดที่ {figure.node.code} {figure.node.name}"),
        "score": thai.format_score(figure.value),
        "year": thai.thai_digits(assessment.fiscal_year.year),
        "target_year": thai.thai_digits(target_year),
        "question": thai.thai_digits(f"{question.node.code} {question.node.name}") if question else "",
    }


def _fill(text, values):
    try:
        return text.format_map(values)
    except (KeyError, ValueError, IndexError):
        # A library text with a stray brace is shown as written rather than failing the draft.
        return text


def _pick_template(library, indicator_number, question_code, band):
    candidates = [t for t in library if t.indicator_number == indicator_number and t.question_code == question_code]
    for template in candidates:
        if template.band == band:
            return template
    if band == Band.MAINTAIN:
        return None
    return next((t for t in candidates if not t.band), None)


def _units_for(agency, names):
    names = [n.strip() for n in names.split(",") if n.strip()]
    if ALL_UNITS in names:
        return True, []
    units = []
    for order, name in enumerate(names):
        unit, _ = AgencyUnit.objects.get_or_create(agency=agency, name=name, defaults={"order": order})
        units.append(unit)
    return False, units


def _measure_from(plan, template, *, indicator, figure, band, values, order, questions=(), extra_lines=(), adjust=None):
    deadline = thai.fiscal_year_range(plan.target_year)[1]
    measure = Measure(
        plan=plan,
        order=order,
        indicator=indicator,
        band=band,
        score=scoring.round2(figure.value) if figure.value is not None else None,
        template=template,
        deadline=deadline,
    )
    if template is not None:
        measure.weakness = _fill(template.weakness, values)
        measure.title = _fill(template.title, values)
        measure.analysis = _fill(template.analysis, values)
        measure.steps = _fill(template.steps, values)
        measure.quarters = template.quarters
        measure.monitoring = _fill(template.monitoring, values)
    else:
        # No library entry: a placeholder title the staff member is expected to rewrite.
        verb = "รักษาระดับ" if band == Band.MAINTAIN else "ยกระดับ"
        measure.title = f"{verb}ผลการดำเนินงาน{values['indicator']}"
        measure.quarters = "1,2,3,4"
    if extra_lines:
        measure.weakness = "\n".join([measure.weakness, *extra_lines]).strip()
    if adjust is not None:
        adjust(measure, values)
    measure.full_clean(exclude=["plan", "indicator", "template"])
    measure.save()
    if questions:
        measure.questions.set(questions)
    if template is not None:
        all_units, units = _units_for(plan.agency, template.responsible_units)
        if all_units:
            measure.all_units = True
            measure.save(update_fields=["all_units"])
        else:
            measure.units.set(units)
    return measure


DRIVING_TITLE = (
    "แผนการขับเคลื่อนการดำเนินงานการประเมินคุณธรรมและความโปร่งใสในการดำเนินงานของหน่วยงานภาครัฐ (ITA) "
    "ประจำปีงบประมาณ พ.ศ. {year}"
)
MEASURES_TITLE = "มาตรการส่งเสริมคุณธรรมและความโปร่งใสภายในหน่วยงาน ประจำปีงบประมาณ พ.ศ. {year}"


def plan_draft_problem(assessment, result=None):
    """Why no plan can be drafted from this assessment (Thai, for the page and the
    commands), or None. A plan needs at least one published figure: the overall score
    alone is enough for a driving plan."""
    year = thai.thai_digits(assessment.fiscal_year.year)
    if not FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year, kind=scoring.INDICATOR).exists():
        return f"ยังจัดทำร่างแผนไม่ได้ เพราะกรอบการประเมินปีงบประมาณ พ.ศ. {year} ยังไม่มีตัวชี้วัด (ผู้ดูแลระบบต้องเพิ่มกรอบการประเมินก่อน)"
    if not assessment.scores.exists():
        return (
            f"ยังจัดทำร่างแผนไม่ได้ เพราะผลการประเมินปีงบประมาณ พ.ศ. {year} ของ{assessment.agency.name} ยังไม่มีคะแนนใดเลย "
            "กรุณากรอกคะแนนรวมหรือคะแนนรายตัวชี้วัดที่ สำนักงาน ป.ป.ช. ประกาศก่อน (หน้ากรอกคะแนน หรือนำเข้าไฟล์)"
        )
    return None


def _unscored_texts(measure, values):
    measure.weakness = (
        f"ไม่มีคะแนน{values['indicator']}ที่ประกาศสำหรับปีงบประมาณ พ.ศ. {values['year']} "
        "จึงยังระบุจุดอ่อนจากผลการประเมินไม่ได้ ประเด็นที่พบบ่อยในตัวชี้วัดนี้:\n" + measure.weakness
    ).strip()
    measure.analysis = (
        f"{values['agency']}ทราบผลการประเมินปีงบประมาณ พ.ศ. {values['year']} ไม่ครบทุกตัวชี้วัด "
        f"จึงกำหนดมาตรการขับเคลื่อนสำหรับ{values['indicator']} เพื่อเตรียมความพร้อมการประเมิน"
        f"ในปีงบประมาณ พ.ศ. {values['target_year']}"
    )


@transaction.atomic
def plan_draft_from_assessment(*, assessment, user=None, check_role=True):
    """Draft the FY N+1 plan from the FY N assessment's triage.

    One measure per indicator triaged urgent or improve (below 100); one more per
    urgent question that has a library entry of its own, otherwise a line in its
    indicator's measure; a short maintain measure for indicators at 100.
    An assessment that lacks some indicator scores (often only the overall score is
    known, as for เทศบาลตำบลคึกคัก FY2567, 85.42) gets a driving plan (แผนขับเคลื่อน,
    seed 002): a library measure for every indicator whose score is unknown, and the
    plan records which indicators those were.
    Running it again returns the existing plan instead of a duplicate."""
    if check_role:
        _require_role(user, assessment.agency_id, Role.STAFF, action="จัดทำร่างแผน")
    target_year = assessment.fiscal_year.year + 1
    existing = Plan.objects.filter(agency=assessment.agency, target_year=target_year).order_by("-revision").first()
    if existing is not None:
        return existing, False
    problem = plan_draft_problem(assessment)
    if problem:
        raise ValidationError(problem)
    result = compute_assessment(assessment)
    indicators = sorted(result.of_kind(scoring.INDICATOR), key=lambda f: f.node.order)
    unscored = [f.node.code for f in indicators if f.value is None]
    agency = assessment.agency
    plan = Plan.objects.create(
        agency=agency,
        assessment=assessment,
        target_year=target_year,
        title=(DRIVING_TITLE if unscored else MEASURES_TITLE).format(year=thai.thai_digits(target_year)),
        unscored_indicators=unscored,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    items = {i.code: i for i in FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year)}
    library = list(MeasureTemplate.objects.all())
    questions_under = {}
    for figure in result.of_kind(scoring.QUESTION):
        indicator_code = _indicator_of(figure.node, result)
        questions_under.setdefault(indicator_code, []).append(figure)
    order = 0
    for figure in indicators:
        values = _placeholders(agency, assessment, target_year, figure)
        if figure.value is None:
            order += 1
            _measure_from(
                plan,
                _pick_template(library, figure.node.code, "", Band.UNSCORED),
                indicator=items[figure.node.code],
                figure=figure,
                band=Band.UNSCORED,
                values=values,
                order=order,
                adjust=_unscored_texts,
            )
            continue
        band = Band(figure.triage.value)
        urgent = [q for q in questions_under.get(figure.node.code, []) if question_is_urgent(q, result.parts)]
        own, lines = [], []
        for question in urgent:
            template = _pick_template(library, figure.node.code, question.node.code, Band.URGENT)
            if template is not None:
                own.append((question, template))
            else:
                lines.append(f"- {question.node.code} {question.node.name} ({thai.format_score(question.value)} คะแนน)")
        order += 1
        _measure_from(
            plan,
            _pick_template(library, figure.node.code, "", band),
            indicator=items[figure.node.code],
            figure=figure,
            band=band,
            values=values,
            order=order,
            questions=[items[q.node.code] for q in urgent if not any(q is o[0] for o in own)],
            extra_lines=lines,
        )
        for question, template in own:
            order += 1
            _measure_from(
                plan,
                template,
                indicator=items[figure.node.code],
                figure=question,
                band=Band.URGENT,
                values=_placeholders(agency, assessment, target_year, figure, question),
                order=order,
                questions=[items[question.node.code]],
            )
    _record_creation(plan, user)
    return plan, True


def _record_creation(plan, user):
    if user is not None and user.is_authenticated:
        Transition.objects.create(plan=plan, from_status="", to_status=Status.DRAFT, actor=user, comment="จัดทำร่างแผน")
    documents_enqueue_after_commit(plan_ids=[plan.pk])


def _indicator_of(node, result):
    parent = node.parent
    while parent is not None and result.figures[parent].node.kind != scoring.INDICATOR:
        parent = result.figures[parent].node.parent
    return parent


def uncovered_urgent_questions(plan, result=None, covered=None):
    """Urgent questions of the base assessment that no measure of the plan names, as
    UrgentItem (the part below 85 named). `covered`: the codes of the questions the plan's
    measures name, when the caller has them (measure_questions)."""
    if result is None:
        result = compute_assessment(plan.assessment)
    if covered is None:
        covered = set(
            Measure.questions.through.objects.filter(measure__plan=plan).values_list("frameworkitem__code", flat=True)
        )
    return [
        item for item in urgent_items(result) if item.node.kind == scoring.QUESTION and item.node.code not in covered
    ]


@transaction.atomic
def plan_submit(*, plan, user, comment="", expected_version=None):
    _require_role(user, plan, Role.STAFF, action="เสนอแผน")
    _require_status(plan, *Plan.EDITABLE, action="เสนอแผน")
    if not plan.measures.exists():
        raise ValidationError("เสนอแผนไม่ได้ เพราะแผนยังไม่มีมาตรการ")
    _record(plan, Status.SUBMITTED, user, comment, expected_version)


@transaction.atomic
def plan_request_changes(*, plan, user, comment, expected_version=None):
    _require_role(user, plan, Role.WORKING_GROUP, action="ส่งแผนกลับให้แก้ไข")
    _require_status(plan, Status.SUBMITTED, action="ส่งแผนกลับให้แก้ไข")
    if not comment.strip():
        raise ValidationError("กรุณาระบุเหตุผลที่ส่งกลับให้แก้ไข")
    _record(plan, Status.CHANGES_REQUESTED, user, comment, expected_version)


@transaction.atomic
def plan_approve(*, plan, user, comment="", expected_version=None):
    """Approve a submitted plan. With urgent questions (below 85) still without a measure the
    working group must say why in `comment`; the reason and the questions go in the log."""
    _require_role(user, plan, Role.WORKING_GROUP, action="เห็นชอบแผน")
    _require_status(plan, Status.SUBMITTED, action="เห็นชอบแผน")
    uncovered = [q.node.code for q in uncovered_urgent_questions(plan)]
    if uncovered:
        if not comment.strip():
            raise ValidationError({"comment": (
                f"แผนนี้ยังมีข้อคำถามที่ต่ำกว่า ๘๕ ไม่มีมาตรการ {len(uncovered)} ข้อ ({', '.join(uncovered)}) "
                "หากจะเห็นชอบ กรุณาระบุเหตุผลในช่องความเห็นประกอบ")})
        comment = f"{comment.strip()}\n[เห็นชอบทั้งที่ข้อคำถามต่ำกว่า ๘๕ ยังไม่มีมาตรการ: {', '.join(uncovered)}]"
    _record(plan, Status.APPROVED, user, comment, expected_version)


@transaction.atomic
def plan_sign(*, plan, user, signatory_name, signatory_position, announced_on, meeting_number, meeting_date,
              signature_image=None, expected_version=None, today=None):
    """Sign the approved plan as the agency's announcement; it is locked from then on.
    `today` is the day the dates are judged from (the demo data, signed in October 2568, passes it)."""
    _require_role(user, plan, Role.SIGNATORY, action="ลงนามประกาศ")
    _require_status(plan, Status.APPROVED, action="ลงนามประกาศ")
    # Separation of duties: the approval that brought the plan here was not the signer's own,
    # unless the agency allows it; then the signing's transition says so.
    approval = plan.transitions.filter(to_status=Status.APPROVED).last()
    own_approval = approval is not None and approval.actor_id == user.pk
    if own_approval and not plan.agency.approver_may_sign:
        raise ValidationError(
            "ลงนามประกาศไม่ได้ เพราะท่านเป็นผู้เห็นชอบแผนฉบับนี้ในฐานะคณะทำงานเอง ผู้เห็นชอบและผู้ลงนามต้องเป็นคนละคน "
            "กรุณาให้ผู้ลงนามคนอื่นของหน่วยงานลงนาม หรือให้คณะทำงานคนอื่นเห็นชอบ",
            code="own_approval",
        )
    errors = {}
    if not signatory_name.strip():
        errors["signatory_name"] = "กรุณาระบุชื่อผู้ลงนาม"
    if not signatory_position.strip():
        errors["signatory_position"] = "กรุณาระบุตำแหน่งผู้ลงนาม"
    if announced_on is None:
        errors["announced_on"] = "กรุณาระบุวันที่ประกาศ"
    elif problem := plan_date_problem(plan, announced_on, "วันที่ประกาศ", today, recent=True):
        errors["announced_on"] = problem
    if not meeting_number.strip():
        errors["meeting_number"] = "กรุณาระบุครั้งที่ประชุมคณะทำงาน เช่น 1/2568"
    if meeting_date is None:
        errors["meeting_date"] = "กรุณาระบุวันที่ประชุมคณะทำงาน"
    elif problem := plan_date_problem(plan, meeting_date, "วันที่ประชุมคณะทำงาน", today, recent=True):
        errors["meeting_date"] = problem
    elif announced_on is not None and meeting_date > announced_on:
        errors["meeting_date"] = "วันที่ประชุมต้องไม่หลังวันที่ประกาศ"
    if errors:
        raise ValidationError(errors)
    from plans.announcement import announcement_store, signing_preflight

    # The public address and the certificate are checked before anything is written.
    signing_preflight(plan.agency)
    plan.signatory_name = signatory_name.strip()
    plan.signatory_position = signatory_position.strip()
    plan.announced_on = announced_on
    plan.meeting_number = meeting_number.strip()
    plan.meeting_date = meeting_date
    if signature_image is not None:
        plan.signature_image = signature_image
    plan.signed_by = user
    plan.signed_at = timezone.now()
    try:
        # One save and one history row for the signing: the status with who signed, as what, and when.
        _record(plan, Status.SIGNED, user, comment=OWN_APPROVAL_NOTE if own_approval else "",
                expected_version=expected_version, fields=SIGNING_FIELDS)
        # Generate and store the announcement once, in this transaction: a failed render rolls the signing back.
        announcement_store(plan=plan, user=user)
    except Exception:
        # The rollback undoes the rows, not the files: remove the signature image saved above.
        if signature_image is not None and plan.signature_image and plan.signature_image._committed:
            plan.signature_image.storage.delete(plan.signature_image.name)
        raise


OWN_APPROVAL_NOTE = (
    "ลงนามโดยผู้ที่เห็นชอบแผนฉบับนี้เอง ตามข้อยกเว้นที่หน่วยงานอนุญาต (อนุญาตให้ผู้เห็นชอบแผนลงนามประกาศแผนนั้นเอง)"
)

SIGNING_FIELDS = [
    "signatory_name", "signatory_position", "announced_on", "meeting_number", "meeting_date",
    "signature_image", "signed_by", "signed_at",
]


@transaction.atomic
def plan_revise(*, plan, user, comment="", expected_version=None):
    """Start a new revision of a signed plan; the signed one stays as it was."""
    _require_role(user, plan, Role.STAFF, action="ปรับปรุงแผน")
    _require_status(plan, Status.SIGNED, action="ปรับปรุงแผน")
    # Serialises two clicks on "revise": the second finds the version moved and is refused.
    plan_claim_version(plan=plan, expected_version=expected_version)
    if Plan.objects.filter(previous=plan).exists():
        raise ValidationError("แผนฉบับนี้มีฉบับปรับปรุงแล้ว")
    new = Plan.objects.create(
        agency=plan.agency,
        assessment=plan.assessment,
        target_year=plan.target_year,
        revision=plan.revision + 1,
        previous=plan,
        title=plan.title,
        background=plan.background,
        unscored_indicators=plan.unscored_indicators,
        created_by=user,
    )
    _copy_measures(plan, new)
    Transition.objects.create(plan=new, from_status="", to_status=Status.DRAFT, actor=user, comment=comment or "ปรับปรุงแผนหลังลงนาม")
    return new


MEASURE_COPIED_FIELDS = [
    "order", "indicator_id", "band", "score", "weakness", "title", "analysis", "steps", "quarters",
    "period_start", "period_end", "all_units", "owner", "deadline", "monitoring", "template_id",
]
PROGRESS_COPIED_FIELDS = ["quarter", "status", "note", "evidence_url", "evidence_file", "updated_by_id"]


def _copy_measures(plan, new):
    """Copy every measure of `plan` into `new` with its question and unit links, owners,
    deadline and the progress recorded on it, each copy pointing back at its origin.

    The links are read as ids from the through tables, not through the instances: a
    prefetched copy of the old measure would make `.set()` on the clone a no-op."""
    old_measures = list(plan.measures.order_by("order", "pk"))
    questions, units, progress = {}, {}, {}
    for measure_id, item_id in Measure.questions.through.objects.filter(measure__plan=plan).values_list(
        "measure_id", "frameworkitem_id"
    ):
        questions.setdefault(measure_id, []).append(item_id)
    for measure_id, unit_id in Measure.units.through.objects.filter(measure__plan=plan).values_list(
        "measure_id", "agencyunit_id"
    ):
        units.setdefault(measure_id, []).append(unit_id)
    for record in Progress.objects.filter(measure__plan=plan):
        progress.setdefault(record.measure_id, []).append(record)
    for old in old_measures:
        copy = Measure(plan=new, copied_from=old, **{f: getattr(old, f) for f in MEASURE_COPIED_FIELDS})
        copy.save()
        copy.questions.set(questions.get(old.pk, []))
        copy.units.set(units.get(old.pk, []))
        for record in progress.get(old.pk, []):
            Progress.objects.create(measure=copy, **{f: getattr(record, f) for f in PROGRESS_COPIED_FIELDS})


def ensure_editable(plan):
    if not plan.is_editable:
        raise ValidationError(
            f"แก้ไขแผนไม่ได้ เพราะแผนอยู่ในสถานะ “{plan.get_status_display()}”"
            + (" หากต้องการแก้ไขให้จัดทำฉบับปรับปรุง" if plan.is_signed else "")
        )


@transaction.atomic
def measure_comment(*, plan, user, body, measure=None):
    _require_role(user, plan, Role.WORKING_GROUP, Role.STAFF, action="แสดงความเห็น")
    if plan.is_signed:
        raise ValidationError("แผนที่ลงนามแล้วไม่รับความเห็นเพิ่ม")
    if measure is not None and measure.plan_id != plan.pk:
        raise PermissionDenied("มาตรการนี้ไม่ได้อยู่ในแผนนี้")
    if not body.strip():
        raise ValidationError({"body": "กรุณาพิมพ์ความเห็น"})
    body = comment_text(body.strip(), label="ความเห็น")
    return ReviewComment.objects.create(plan=plan, measure=measure, author=user, body=body)


@transaction.atomic
def progress_record(*, measure, quarter, user, status, note="", evidence_url="", evidence_file=None):
    """Record what was done on a measure in one quarter of a signed plan."""
    _require_role(user, measure.plan, Role.STAFF, action="บันทึกผลการดำเนินงาน")
    if not measure.plan.is_signed:
        raise ValidationError("บันทึกผลการดำเนินงานได้เมื่อแผนลงนามประกาศแล้ว")
    if quarter not in (1, 2, 3, 4):
        raise ValidationError({"quarter": "ไตรมาสต้องเป็น 1 ถึง 4"})
    progress, _ = Progress.objects.get_or_create(measure=measure, quarter=quarter)
    progress.status = status
    progress.note = note
    progress.evidence_url = evidence_url
    if evidence_file is not None:
        progress.evidence_file = evidence_file
    progress.updated_by = user
    progress.full_clean()
    progress.save()
    documents_enqueue_after_commit(plan_ids=[measure.plan_id])
    return progress


def plan_progress_percent(plan, measures=None, progress=None):
    """Share of active measures done: a measure counts as done when its latest
    recorded quarter is done; cancelled measures leave the denominator."""
    measures = measures if measures is not None else list(plan.measures.all())
    if progress is None:
        rows = Progress.objects.filter(measure__plan_id=plan.pk).order_by().values_list("measure_id", "quarter", "status")
    else:
        rows = [(p.measure_id, p.quarter, p.status) for p in progress]
    latest = {}
    for measure_id, _, status in sorted(rows, key=lambda row: row[1]):
        latest[measure_id] = status
    active = [m for m in measures if latest.get(m.pk) != Progress.Status.CANCELLED]
    if not active:
        return 0
    done = sum(1 for m in active if latest.get(m.pk) == Progress.Status.DONE)
    return round(100 * done / len(active))


# The plan editor (portal): add, update, move and delete measures of a draft plan.

EDITABLE_MEASURE_FIELDS = ["band", "weakness", "title", "analysis", "steps", "owner", "deadline", "monitoring"]


def _editable_plan(user, plan, action):
    """The plan, locked for the rest of the transaction, if the user is staff of its agency
    and it is a draft or sent back (checked under the lock: a submit cannot slip in between)."""
    _require_role(user, plan, Role.STAFF, action=action)
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    ensure_editable(locked)
    # A measure edit is an edit of the plan: the admin's plan form opened before it is then
    # refused instead of saving its older copy of the measures over this one.
    plan_claim_version(plan=locked, expected_version=locked.version)
    return locked


def _renumber(plan):
    measures = list(plan.measures.order_by("order", "pk"))
    for position, measure in enumerate(measures, start=1):
        if measure.order != position:
            Measure.objects.filter(pk=measure.pk).update(order=position)
            measure.order = position
    return measures


def _plan_items(plan):
    return {i.code: i for i in FrameworkItem.objects.filter(fiscal_year=plan.assessment.fiscal_year_id)}


@transaction.atomic
def measure_add(*, plan, user, template=None, indicator_code="", question_code="", from_library=False):
    """Add a measure at the end of a draft plan: from a library entry (`template`); for an
    urgent question or an indicator, prefilled from the library when it has an entry
    (`from_library`); or blank for the indicator chosen (a placeholder title to rewrite)."""
    plan = _editable_plan(user, plan, "เพิ่มมาตรการ")
    items = _plan_items(plan)
    result = compute_assessment(plan.assessment)
    if template is not None:
        indicator_code, question_code = template.indicator_number, template.question_code
    question = None
    if question_code:
        question = items.get(question_code)
        if question is None or question.kind != FrameworkItem.Kind.QUESTION or question_code not in result.figures:
            raise ValidationError({"question": f"ไม่พบข้อคำถาม {question_code} ในกรอบการประเมินของปีนี้"})
        indicator_code = indicator_code or _indicator_of(result.figures[question_code].node, result)
    indicator = items.get(indicator_code)
    if indicator is None or indicator.kind != FrameworkItem.Kind.INDICATOR or indicator_code not in result.figures:
        raise ValidationError({"indicator": "กรุณาเลือกตัวชี้วัดของมาตรการจากกรอบการประเมินของปีนี้"})
    figure = result.figures[indicator_code]
    target = result.figures[question_code] if question is not None else figure
    if question is not None and question_is_urgent(target, result.parts):
        band = Band.URGENT
    elif target.triage is not None:
        band = Band(target.triage.value)
    else:
        band = Band.IMPROVE
    if template is None and from_library:
        library = list(MeasureTemplate.objects.filter(indicator_number=indicator_code))
        template = _pick_template(library, indicator_code, question_code, band)
        if template is None and question_code:
            template = _pick_template(library, indicator_code, "", band)
    order = (plan.measures.order_by("-order").values_list("order", flat=True).first() or 0) + 1
    values = _placeholders(plan.agency, plan.assessment, plan.target_year, figure, target if question else None)
    measure = _measure_from(
        plan, template, indicator=indicator, figure=target, band=band, values=values, order=order,
        questions=[question] if question is not None else (),
    )
    if template is None and question is not None:
        measure.title = f"แก้ไขจุดอ่อน{values['question']}"
        measure.save(update_fields=["title"])
    return measure


def _units_from_text(plan, text):
    names = [n.strip() for n in text.replace("،", ",").split(",") if n.strip()]
    if any(len(n) > 200 for n in names):
        raise ValidationError({"units": "ชื่อกองยาวเกิน 200 ตัวอักษร"})
    return _units_for(plan.agency, ", ".join(names))


@transaction.atomic
def measure_update(*, measure, user, data, expected_version):
    """Save every column of one measure from the editor. `data` holds EDITABLE_MEASURE_FIELDS,
    `quarters` (list of 1–4), `units` (names, comma-separated, or ทุกกอง) and `questions`
    (FrameworkItem codes). Refused if the measure was saved by someone else since it was
    loaded (`expected_version`)."""
    plan = _editable_plan(user, measure.plan, "แก้ไขมาตรการ")
    if measure.plan_id != plan.pk:
        raise PermissionDenied("มาตรการนี้ไม่ได้อยู่ในแผนนี้")
    errors = measure_date_errors(plan, {"deadline": data.get("deadline")})
    if not (data.get("title") or "").strip():
        errors["title"] = "กรุณาระบุมาตรการ/โครงการ/กิจกรรม"
    quarters = sorted({int(q) for q in data.get("quarters") or []})
    if any(q not in (1, 2, 3, 4) for q in quarters):
        errors["quarters"] = "ไตรมาสต้องเป็น 1 ถึง 4"
    items = _plan_items(plan)
    codes = list(data.get("questions") or [])
    unknown = [c for c in codes if c not in items or items[c].kind != FrameworkItem.Kind.QUESTION]
    if unknown:
        errors["questions"] = f"ไม่พบข้อคำถาม {', '.join(unknown)} ในกรอบการประเมินของปีนี้"
    if errors:
        raise ValidationError(errors)
    measure.version = version_claim(Measure, measure.pk, expected_version)
    for field in EDITABLE_MEASURE_FIELDS:
        if field in data:
            value = data[field]
            setattr(measure, field, value.strip().replace("\r\n", "\n") if isinstance(value, str) else value)
    measure.quarters = ",".join(str(q) for q in quarters)
    measure.full_clean(exclude=["plan", "indicator", "template", "copied_from"])
    all_units, units = _units_from_text(plan, data.get("units") or "")
    measure.all_units = all_units
    measure._history_user = user
    measure.save()
    measure.units.set(units)
    measure.questions.set([items[c] for c in codes])
    return measure


@transaction.atomic
def measure_delete(*, measure, user, expected_version=None):
    plan = _editable_plan(user, measure.plan, "ลบมาตรการ")
    if measure.plan_id != plan.pk:
        raise PermissionDenied("มาตรการนี้ไม่ได้อยู่ในแผนนี้")
    if expected_version is not None:
        version_claim(Measure, measure.pk, expected_version)
    measure._history_user = user
    measure.delete()
    _renumber(plan)


@transaction.atomic
def measure_move(*, measure, user, direction):
    """Move a measure one place up (-1) or down (+1) among the measures of its indicator
    (the plan and its documents list measures grouped by indicator)."""
    plan = _editable_plan(user, measure.plan, "จัดลำดับมาตรการ")
    if direction not in (-1, 1):
        raise ValidationError("ทิศทางการย้ายต้องเป็นขึ้นหรือลง")
    measures = [m for m in _renumber(plan) if m.indicator_id == measure.indicator_id]
    index = next(i for i, m in enumerate(measures) if m.pk == measure.pk)
    other = index + direction
    if not 0 <= other < len(measures):
        return measure
    a, b = measures[index], measures[other]
    Measure.objects.filter(pk=a.pk).update(order=b.order)
    Measure.objects.filter(pk=b.pk).update(order=a.order)
    return measure


def uncovered_indicators(plan, result, measures=None):
    """Indicators below 100 with no measure of their own in the plan. `measures`: the plan's
    measures with their indicator selected, when the caller has them (no query then)."""
    if measures is not None:
        covered = {m.indicator.code for m in measures}
    else:
        covered = set(plan.measures.values_list("indicator__code", flat=True))
    return [
        f for f in result.of_kind(scoring.INDICATOR)
        if f.triage in (scoring.Triage.URGENT, scoring.Triage.IMPROVE) and f.node.code not in covered
    ]


COMPARED_FIELDS = [
    "indicator_id", "band", "weakness", "title", "analysis", "steps", "quarters", "period_start", "period_end",
    "all_units", "owner", "deadline", "monitoring",
]


def revision_changes(plan):
    """What changed since the previous revision, matched on each copy's origin
    (Measure.copied_from): measures added, removed and edited (with the columns that
    changed), or None for a first plan."""
    if plan.previous_id is None:
        return None
    old = {m.pk: m for m in plan.previous.measures.prefetch_related("questions", "units").order_by("order", "pk")}
    new = list(plan.measures.prefetch_related("questions", "units").order_by("order", "pk"))
    kept = {m.copied_from_id for m in new if m.copied_from_id in old}
    added = [m for m in new if m.copied_from_id not in old]
    removed = [m for pk, m in old.items() if pk not in kept]
    edited = []
    for measure in new:
        before = old.get(measure.copied_from_id)
        if before is None:
            continue
        changed = [
            str(Measure._meta.get_field(f.removesuffix("_id")).verbose_name)
            for f in COMPARED_FIELDS if getattr(before, f) != getattr(measure, f)
        ]
        if {q.pk for q in before.questions.all()} != {q.pk for q in measure.questions.all()}:
            changed.append("ข้อคำถาม")
        if {u.pk for u in before.units.all()} != {u.pk for u in measure.units.all()}:
            changed.append("ส่วนราชการที่รับผิดชอบ")
        if changed:
            edited.append((measure, changed))
    return {"previous": plan.previous, "added": added, "removed": removed, "edited": edited}


def _is_local_address(url):
    from urllib.parse import urlparse

    host = (urlparse(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".localhost")


def measure_questions(plan):
    """{measure id: [(code, name), …]}: the questions each measure of the plan names, in the
    framework's order, in one plain query (prefetching them as model instances cost a page
    more than all its other queries)."""
    questions = {}
    rows = Measure.questions.through.objects.filter(measure__plan_id=plan.pk).order_by("frameworkitem__order")
    for measure_id, code, name in rows.values_list("measure_id", "frameworkitem__code", "frameworkitem__name"):
        questions.setdefault(measure_id, []).append((code, name))
    return questions


def measure_unit_names(plan):
    """{measure id: [division name, …]}: each measure's responsible divisions in their order, in
    one plain query (see measure_questions)."""
    units = {}
    rows = Measure.units.through.objects.filter(measure__plan_id=plan.pk).order_by("agencyunit__order", "agencyunit__name")
    for measure_id, name in rows.values_list("measure_id", "agencyunit__name"):
        units.setdefault(measure_id, []).append(name)
    return units


def plan_checklist(plan, result=None, measures=None, uncovered=None, unit_names=None):
    """What to look at before an irreversible step (submit, approve, sign, publish): a list
    of (ok, text). Nothing here blocks the step on its own; approving with urgent questions
    uncovered needs a reason (plan_approve). The caller may pass what it has already:
    the plan's measures, uncovered_urgent_questions(plan) and measure_unit_names(plan)."""
    from django.conf import settings

    measures = measures if measures is not None else list(plan.measures.all())
    if unit_names is None:
        unit_names = measure_unit_names(plan)
    if uncovered is None:
        uncovered = uncovered_urgent_questions(plan, result)
    no_owner = [m for m in measures if not m.all_units and not m.owner.strip() and not unit_names.get(m.pk)]
    no_period = [m for m in measures if not m.quarter_list and not (m.period_start and m.period_end)]
    items = [
        (not uncovered, "ข้อคำถามที่ต่ำกว่า ๘๕ มีมาตรการครบทุกข้อ" if not uncovered else
         f"ข้อคำถามที่ต่ำกว่า ๘๕ ยังไม่มีมาตรการ {len(uncovered)} ข้อ: " + ", ".join(q.node.code for q in uncovered)),
        (not no_owner, "ทุกมาตรการมีผู้รับผิดชอบ" if not no_owner else
         f"มาตรการที่ยังไม่มีผู้รับผิดชอบ {len(no_owner)} รายการ: " + ", ".join(f"ลำดับที่ {m.order}" for m in no_owner)),
        (not no_period, "ทุกมาตรการระบุระยะเวลาดำเนินการ" if not no_period else
         f"มาตรการที่ยังไม่ระบุระยะเวลา {len(no_period)} รายการ: " + ", ".join(f"ลำดับที่ {m.order}" for m in no_period)),
        (bool(plan.agency.emblem), "มีตราสัญลักษณ์ (ครุฑ) ของหน่วยงานสำหรับประกาศแล้ว" if plan.agency.emblem else
         "ยังไม่ได้อัปโหลดตราสัญลักษณ์ (ครุฑ) ของหน่วยงาน: ประกาศจะพิมพ์กรอบว่างแทน (ผู้ดูแล → หน่วยงาน → ตราสัญลักษณ์)"),
    ]
    if not settings.DEBUG and _is_local_address(settings.PUBLIC_BASE_URL):
        items.append((False, f"PUBLIC_BASE_URL ยังชี้ไปที่เครื่องนี้ ({settings.PUBLIC_BASE_URL}) "
                             "คิวอาร์โค้ดในประกาศจะเปิดจากภายนอกไม่ได้"))
    return items
