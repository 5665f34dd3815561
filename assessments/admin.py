from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html

from assessments import scoring
from import_export.admin import ImportExportMixin

from assessments.models import (
    Agency,
    Assessment,
    FiscalYear,
    FrameworkItem,
    LevelRule,
    Membership,
    Score,
    agencies_for,
    compute_assessment,
    has_role,
)
from assessments.resources import ScoreResource
from assessments.services import assessment_refresh, assessment_save_scores, score_problem
from ita_portal.thai import format_score

STAFF = Membership.Role.STAFF


class AgencyScopedAdmin(admin.ModelAdmin):
    """Rows are visible to members of their agency (and provincial officers of its
    province) and editable by the agency's staff; superusers see everything.
    Enforced in the queryset and in every has_*_permission, not by hiding links."""

    agency_path = "agency"

    def _agency_id(self, obj):
        target = obj
        for part in self.agency_path.split("__"):
            target = getattr(target, part)
        return target.pk

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.agency_path}__in": agencies_for(request.user)})

    def _is_member(self, request):
        return Membership.objects.filter(user=request.user).exists()

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser or self._is_member(request))

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return self._is_member(request)
        return agencies_for(request.user).filter(pk=self._agency_id(obj)).exists()

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return Membership.objects.filter(user=request.user, role=STAFF).exists()
        return has_role(request.user, self._agency_id(obj), STAFF)

    def has_add_permission(self, request):
        return request.user.is_superuser or Membership.objects.filter(user=request.user, role=STAFF).exists()

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def _require_visible(self, request, object_id):
        # The stock admin redirects to the index for an object outside the queryset;
        # answer 404 instead, the same as for an object that does not exist.
        if object_id is not None:
            try:
                found = self.get_queryset(request).filter(pk=object_id).exists()
            except (ValueError, TypeError, ValidationError):
                found = False
            if not found:
                raise Http404("ไม่พบข้อมูลนี้ หรือท่านไม่มีสิทธิ์เข้าถึง")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        self._require_visible(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().delete_view(request, object_id, extra_context)

    def staff_agencies(self, request):
        if request.user.is_superuser:
            return Agency.objects.all()
        return agencies_for(request.user, roles=[STAFF])


PART_LABELS = {"": "คะแนน", "public": "EITPublic", "survey": "EITSurvey"}
TRIAGE_ICONS = {scoring.Triage.URGENT: "▲", scoring.Triage.IMPROVE: "●", scoring.Triage.MAINTAIN: "✓"}


def score_field_name(code, part):
    return "score_" + code.replace(".", "_") + (f"__{part}" if part else "")


class ScoreField(forms.CharField):
    """A 0–100 score with at most 2 decimals; errors name the item in Thai."""

    def __init__(self, *, item_label, **kwargs):
        self.item_label = item_label
        super().__init__(required=False, **kwargs)

    def clean(self, value):
        value = (super().clean(value) or "").strip().replace(",", ".")
        if value == "":
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValidationError(f"{self.item_label}: “{value}” ไม่ใช่ตัวเลข")
        problem = score_problem(number)
        if problem:
            raise ValidationError(f"{self.item_label}: {problem} (กรอก {value})")
        return number


class AssessmentForm(forms.ModelForm):
    class Meta:
        model = Assessment
        fields = ["agency", "fiscal_year", "notes"]

    # Filled in by AssessmentAdmin.get_form for the assessment's year.
    score_items = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.score_items and self.instance.pk:
            stored = self.instance.scores.values_list("item__code", "part", "value")
            for code, part, value in stored:
                self.initial[score_field_name(code, part)] = f"{value:.2f}"

    def score_values(self):
        return {
            (item.code, part): self.cleaned_data.get(score_field_name(item.code, part))
            for item in self.score_items
            for part in item_parts(item)
        }


def item_parts(item):
    return ("", "public", "survey") if item.has_parts else ("",)


def triage_badge(value):
    band = scoring.triage_of(value)
    if band is None:
        return ""
    return format_html(
        '<span class="triage triage-{}" title="{}">{} {}</span>', band.value, band.label, TRIAGE_ICONS[band], band.label
    )


class LevelFilter(admin.SimpleListFilter):
    title = "ระดับผลการประเมิน"
    parameter_name = "level"

    def lookups(self, request, model_admin):
        # Newest scheme first, each from its highest level down.
        names = LevelRule.objects.order_by("-fiscal_year__year", "-rank").values_list("name", flat=True)
        return [(name, name) for name in dict.fromkeys(names)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(level=self.value())
        return queryset


class ProvinceFilter(admin.SimpleListFilter):
    title = "จังหวัด"
    parameter_name = "province"

    def lookups(self, request, model_admin):
        provinces = (
            Agency.objects.exclude(province="").order_by("province").values_list("province", flat=True).distinct()
        )
        return [(p, p) for p in provinces]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(agency__province=self.value())
        return queryset


class HasUrgentFilter(admin.SimpleListFilter):
    title = "มีตัวชี้วัดต่ำกว่า ๘๕"
    parameter_name = "urgent"

    def lookups(self, request, model_admin):
        return [("yes", "มี"), ("no", "ไม่มี")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(urgent_indicator_count__gt=0)
        if self.value() == "no":
            return queryset.filter(urgent_indicator_count=0)
        return queryset


@admin.register(Assessment)
class AssessmentAdmin(AgencyScopedAdmin):
    form = AssessmentForm
    change_form_template = "admin/assessments/assessment/change_form.html"
    list_display = ["agency", "fiscal_year", "overall_display", "level", "urgent_display"]
    list_filter = ["fiscal_year", ProvinceFilter, "agency__agency_type", LevelFilter, HasUrgentFilter]
    list_select_related = ["agency", "fiscal_year"]
    search_fields = ["agency__name", "agency__code"]
    autocomplete_fields = ["agency"]
    # Explicit, so the admin does not list the per-year score fields in the fieldset:
    # they are laid out by the template, grouped by tool and indicator.
    fieldsets = [(None, {"fields": ["agency", "fiscal_year", "notes"]})]

    @admin.display(description="คะแนนรวม", ordering="overall")
    def overall_display(self, obj):
        return format_score(obj.overall, digits="arabic") if obj.overall is not None else "-"

    @admin.display(description="ตัวชี้วัดต่ำกว่า ๘๕", ordering="urgent_indicator_count")
    def urgent_display(self, obj):
        if obj.urgent_indicator_count:
            return format_html('<span class="triage triage-urgent">▲ {}</span>', obj.urgent_indicator_count)
        return "-"

    def get_readonly_fields(self, request, obj=None):
        return ["agency", "fiscal_year"] if obj else []

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = self.staff_agencies(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _fiscal_year_for(self, request, obj):
        if obj is not None:
            return obj.fiscal_year_id
        raw = request.POST.get("fiscal_year") or request.GET.get("fiscal_year")
        if raw and raw.isdigit():
            return FiscalYear.objects.filter(pk=int(raw)).values_list("pk", flat=True).first()
        return None

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        fiscal_year = self._fiscal_year_for(request, obj)
        if fiscal_year is None:
            return base
        items = list(FrameworkItem.objects.filter(fiscal_year=fiscal_year).order_by("order"))
        attrs = {"score_items": items}
        for item in items:
            for part in item_parts(item):
                label = item.label if not part else f"{item.code} {PART_LABELS[part]}"
                attrs[score_field_name(item.code, part)] = ScoreField(
                    item_label=label,
                    label=PART_LABELS[part],
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6, "class": "score-input"}),
                )
        return type("AssessmentScoresForm", (base,), attrs)

    def get_changeform_initial_data(self, request):
        return {k: v for k, v in request.GET.items() if k in ("agency", "fiscal_year")}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.score_items:
            assessment_save_scores(assessment=obj, values=form.score_values())
        else:
            assessment_refresh(assessment=obj)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if form.score_items:
            result = compute_assessment(obj) if obj is not None else None
            context["score_sections"] = build_score_sections(form, result)
            context["score_result"] = result
            context["score_errors"] = [
                error for name, errors in form.errors.items() if name.startswith("score_") for error in errors
            ]
        elif add:
            context["fiscal_years"] = list(FiscalYear.objects.order_by("-year"))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # The scores of a new assessment are entered on its change page.
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            self.message_user(request, f"สร้าง “{obj}” แล้ว กรอกคะแนนได้ในหน้านี้")
            return HttpResponseRedirect(reverse("admin:assessments_assessment_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)


def build_score_sections(form, result):
    """Rows for the one-page score entry, grouped by tool in the framework's order."""
    sections = []
    for item in form.score_items:
        figure = result.figures.get(item.code) if result else None
        row = {
            "item": item,
            "fields": [form[score_field_name(item.code, part)] for part in item_parts(item)],
            "computed": format_score(figure.computed, digits="arabic") if figure and figure.computed is not None else "",
            "value": figure.value if figure else None,
            "badge": triage_badge(figure.value) if figure and item.kind in ("indicator", "sub_indicator", "question") else "",
            "finding": next((f for f in result.findings if f.code == item.code), None) if result else None,
        }
        if item.kind in ("overall", "tool"):
            sections.append({"head": row, "rows": []})
        else:
            sections[-1]["rows"].append(row)
    if result and result.level:
        sections[0]["level"] = result.level
    return sections


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "agency_type", "district", "province"]
    list_filter = ["agency_type", "province"]
    search_fields = ["code", "name", "province", "district"]

    def get_queryset(self, request):
        if request.user.is_superuser:
            return super().get_queryset(request)
        return agencies_for(request.user)

    def has_module_permission(self, request):
        return request.user.is_superuser or Membership.objects.filter(user=request.user).exists()

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return Membership.objects.filter(user=request.user).exists()
        return agencies_for(request.user).filter(pk=obj.pk).exists()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "agency", "province"]
    list_filter = ["role"]
    list_select_related = ["user", "agency"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "agency__name", "province"]
    autocomplete_fields = ["agency"]


class LevelRuleInline(admin.TabularInline):
    model = LevelRule
    extra = 0


@admin.register(FiscalYear)
class FiscalYearAdmin(admin.ModelAdmin):
    list_display = ["year", "name"]
    inlines = [LevelRuleInline]


@admin.register(FrameworkItem)
class FrameworkItemAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "fiscal_year", "order", "weight"]
    list_filter = ["fiscal_year", "kind"]
    list_select_related = ["fiscal_year", "parent"]
    search_fields = ["code", "name"]
    ordering = ["-fiscal_year__year", "order"]


@admin.register(Score)
class ScoreAdmin(ImportExportMixin, AgencyScopedAdmin):
    """Scores are read here and imported or exported in bulk; they are edited on the assessment page."""

    agency_path = "assessment__agency"
    resource_classes = [ScoreResource]
    list_display = ["assessment", "item", "part", "value"]
    list_filter = ["assessment__fiscal_year"]
    list_select_related = ["assessment__agency", "assessment__fiscal_year", "item"]
    search_fields = ["assessment__agency__name", "item__code"]
    raw_id_fields = ["assessment", "item"]

    def has_add_permission(self, request):
        # Scores are entered on the assessment page, where they are validated together.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return request.user.is_superuser or Membership.objects.filter(user=request.user, role=STAFF).exists()

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def _allowed_agency_ids(self, request):
        if request.user.is_superuser:
            return None
        return set(self.staff_agencies(request).values_list("pk", flat=True))

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "allowed_agency_ids": self._allowed_agency_ids(request)}

    def get_export_resource_kwargs(self, request, **kwargs):
        allowed = None if request.user.is_superuser else set(agencies_for(request.user).values_list("pk", flat=True))
        return {**super().get_export_resource_kwargs(request, **kwargs), "allowed_agency_ids": allowed}
