from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from assessments.admin import (
    STAFF,
    AfterEachWrite,
    AgencyScopedAdmin,
    LoadedVersionForm,
    ScopedHistoryAdmin,
    VersionedChangeAdmin,
    related_changes,
)
from assessments.models import FrameworkItem, Membership, agencies_for, has_role
from plans.models import (
    AgencyUnit,
    BulkRenderJob,
    Measure,
    MeasureTemplate,
    Plan,
    Progress,
    ReviewComment,
    Transition,
)
from plans.prerender import documents_enqueue_for_agency
from plans.services import measure_date_errors, plan_claim_version


class TextAreaField(forms.CharField):
    """Browsers send a textarea's lines as CRLF; the stored text (drafted from the library)
    uses LF. Normalised, an untouched measure is not "changed": it is not saved again and
    leaves no history row."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


TEXT_AREAS = {models.TextField: {"form_class": TextAreaField}}


def can_view_plan(request, plan):
    """Members of the plan's agency (any role) and provincial officers of its province."""
    if request.user.is_superuser:
        return True
    if plan is None:
        return Membership.objects.filter(user=request.user).exists()
    return agencies_for(request.user).filter(pk=plan.agency_id).exists()


def can_edit_plan(request, plan):
    """Staff of the plan's own agency (and a superuser, for support), while the plan is a
    draft or sent back. Agency roles, not Django's model permissions: no agency role grants those."""
    if plan is None or plan.pk is None:
        return False
    return plan.is_editable and (request.user.is_superuser or has_role(request.user, plan.agency_id, STAFF))


class PlanRoleInline:
    """Inline permissions by agency role and plan state (the parent plan is `obj`)."""

    def has_view_permission(self, request, obj=None):
        return can_view_plan(request, obj)

    def has_add_permission(self, request, obj=None):
        return can_edit_plan(request, obj)

    def has_change_permission(self, request, obj=None):
        return can_edit_plan(request, obj)

    def has_delete_permission(self, request, obj=None):
        return can_edit_plan(request, obj)


class MeasureAdminForm(forms.ModelForm):
    def clean(self):
        cleaned_data = super().clean()
        # The same date checks as the portal's editor (plans.services), naming the field.
        if self.instance.plan_id is not None:
            for field, message in measure_date_errors(self.instance.plan, cleaned_data).items():
                if field in self.fields and field not in self.errors:
                    self.add_error(field, message)
        return cleaned_data


class MeasureInline(PlanRoleInline, admin.StackedInline):
    model = Measure
    form = MeasureAdminForm
    extra = 0
    formfield_overrides = TEXT_AREAS
    fields = [
        ("order", "indicator", "band", "score"),
        "questions",
        "weakness",
        "title",
        "analysis",
        "steps",
        ("quarters", "period_start", "period_end", "deadline"),
        ("all_units", "units"),
        "owner",
        "monitoring",
    ]
    filter_horizontal = ["questions", "units"]

    def get_formset(self, request, obj=None, **kwargs):
        self._plan = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        plan = getattr(self, "_plan", None)
        if db_field.name == "indicator" and plan is not None:
            kwargs["queryset"] = FrameworkItem.objects.filter(
                fiscal_year=plan.assessment.fiscal_year_id, kind=FrameworkItem.Kind.INDICATOR
            ).order_by("order")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        plan = getattr(self, "_plan", None)
        if plan is not None and db_field.name == "questions":
            kwargs["queryset"] = FrameworkItem.objects.filter(
                fiscal_year=plan.assessment.fiscal_year_id, kind=FrameworkItem.Kind.QUESTION
            ).order_by("order")
        if plan is not None and db_field.name == "units":
            kwargs["queryset"] = AgencyUnit.objects.filter(agency=plan.agency_id)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class TransitionInline(PlanRoleInline, admin.TabularInline):
    model = Transition
    extra = 0
    fields = ["at", "actor", "from_status", "to_status", "comment"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def measure_label(measure):
    return f"มาตรการลำดับที่ {measure.order} {Truncator(measure.title).chars(50)}"


@admin.register(Plan)
class PlanAdmin(VersionedChangeAdmin, ScopedHistoryAdmin):
    form = LoadedVersionForm
    formfield_overrides = TEXT_AREAS
    list_display = ["agency", "target_year", "revision_display", "status_badge", "portal_link"]
    list_filter = ["target_year", "status", "agency__province"]
    list_select_related = ["agency"]
    search_fields = ["agency__name", "agency__code", "title"]
    fields = ["agency", "assessment", "target_year", "revision_display", "status", "documents", "title", "background"]
    readonly_fields = ["agency", "assessment", "target_year", "revision_display", "status", "documents"]
    inlines = [MeasureInline, TransitionInline]

    @admin.display(description="เอกสาร")
    def documents(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        # Each PDF with its Word copy beside it; the announcement's is an editable copy, not the signed file.
        editable = "สำเนาเนื้อหาสำหรับแก้ไข ไม่ใช่เอกสารที่ลงนาม" if obj.is_signed else "สำเนา Word สำหรับแก้ไขถ้อยคำ"
        links = [
            ("plans:document", obj.pk, "plan", "แผนมาตรการ", "สำเนา Word สำหรับแก้ไขถ้อยคำ"),
            ("plans:document", obj.pk, "announcement", "ประกาศ" if obj.is_signed else "ร่างประกาศ", editable),
        ]
        if obj.is_signed:
            links.append(("plans:document", obj.pk, "progress", "รายงานผลการดำเนินงาน", "สำเนา Word สำหรับแก้ไขถ้อยคำ"))
        rows = [
            (reverse(name, args=[pk, kind]), label, reverse(f"{name}_docx", args=[pk, kind]), title)
            for name, pk, kind, label, title in links
        ]
        rows.append((
            reverse("assessments:analysis_pdf", args=[obj.assessment_id]), "รายงานการวิเคราะห์",
            reverse("assessments:analysis_docx", args=[obj.assessment_id]), "สำเนา Word สำหรับแก้ไขถ้อยคำ",
        ))
        return format_html_join(
            " · ", '<a href="{}">{} (PDF)</a> <a href="{}" title="{}">(Word .docx)</a>', rows
        )

    @admin.display(description="ฉบับ", ordering="revision")
    def revision_display(self, obj):
        return obj.revision_label

    @admin.display(description="สถานะ", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="status status-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="หน้าพิจารณาแผน")
    def portal_link(self, obj):
        return format_html('<a href="{}">เปิด</a>', reverse("plans:detail", args=[obj.pk]))

    def has_add_permission(self, request):
        # Plans are drafted from an assessment's triage (button or `draft_plan`).
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None:
            return can_edit_plan(request, obj)
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return request.user.is_superuser
        return obj.status == Plan.Status.DRAFT and obj.previous_id is None and has_role(request.user, obj.agency_id, STAFF)

    def save_model(self, request, obj, form, change):
        # Before any write, and in the admin's transaction with the measure inline: a form
        # loaded before another save (an edit, a submit) is refused with EditConflict.
        plan_claim_version(plan=obj, expected_version=form.cleaned_data.get("version"))
        # has_change_permission already refused a locked plan; this closes the race
        # where the plan was submitted or signed between loading the form and saving it.
        if not Plan.objects.filter(pk=obj.pk, status__in=Plan.EDITABLE).exists():
            raise PermissionDenied("แผนนี้ไม่อยู่ในสถานะที่แก้ไขได้แล้ว")
        super().save_model(request, obj, form, change)

    def related_history(self, request, object_id):
        records = Measure.history.filter(plan_id=object_id).select_related("history_user", "indicator")
        return [{
            "title": "ประวัติการแก้ไขมาตรการ",
            "show_field": True,
            "saves": related_changes(records, model=Measure, describe=measure_label, shown_fields=["title"]),
        }]


@admin.register(AgencyUnit)
class AgencyUnitAdmin(AfterEachWrite, AgencyScopedAdmin):
    list_display = ["name", "agency", "order"]
    list_filter = ["agency__province"]
    list_select_related = ["agency"]
    search_fields = ["name", "agency__name"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = self.staff_agencies(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return self.has_add_permission(request)
        return has_role(request.user, obj.agency_id, STAFF) or request.user.is_superuser

    # A unit's name prints in the measures tables: render the agency's documents again.
    after_write_key = "agency_id"

    def after_write(self, agency_id):
        documents_enqueue_for_agency(agency_id)


@admin.register(MeasureTemplate)
class MeasureTemplateAdmin(admin.ModelAdmin):
    list_display = ["key", "indicator_number", "question_code", "band", "title"]
    list_filter = ["indicator_number", "band"]
    search_fields = ["key", "question_code", "title", "weakness"]


@admin.register(ReviewComment)
class ReviewCommentAdmin(AgencyScopedAdmin):
    agency_path = "plan__agency"
    list_display = ["plan", "measure", "author", "created_at"]
    list_select_related = ["plan__agency", "measure", "author"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Progress)
class ProgressAdmin(AgencyScopedAdmin):
    agency_path = "measure__plan__agency"
    list_display = ["measure", "quarter", "status", "updated_at"]
    list_filter = ["quarter", "status"]
    list_select_related = ["measure__plan__agency"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BulkRenderJob)
class BulkRenderJobAdmin(admin.ModelAdmin):
    # Read-only: jobs are started on /bulk/ and written by the background task.

    list_display = ["created_at", "user", "kind", "fiscal_year", "province", "status", "done", "total", "finished_at"]
    list_filter = ["status", "kind", "fiscal_year"]
    list_select_related = ["user"]
    search_fields = ["user__username", "province"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
