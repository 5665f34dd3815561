import dataclasses
import datetime
import functools
from uuid import uuid4

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats
from import_export.forms import ExportForm
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject, ModelChange
from simple_history.template_utils import HistoricalRecordContextHelper

from assessments import scoring
from assessments.models import (
    Agency,
    AnalysisPhrase,
    Assessment,
    FiscalYear,
    FrameworkItem,
    ImportBatch,
    LevelRule,
    Membership,
    Score,
    agencies_filter,
    agencies_for,
    compute_assessment,
    framework_items,
    framework_nodes_of,
)
from assessments.resources import (  # the score import and export (ScoreAdmin)
    LISTED_PROBLEMS,
    THAI_COLUMNS,
    ScoreResource,
    file_size_problem,
    import_batch_confirm,
    import_batch_preview,
    import_sync_max_rows,
)
from assessments.services import (
    STALE_EDIT_MESSAGE,
    EditConflict,
    aggregates_refresh,
    assessment_refresh,
    assessment_save_scores,
    fiscal_year_restate_after_commit,
)
from ita_portal import signing_secrets
from ita_portal.markup import escape
from ita_portal.thai import format_score, thai_date_short
from ita_portal.uploads import validate_emblem, with_random_name

STAFF = Membership.Role.STAFF


def _membership_rows(request):
    """The user's memberships, (role, agency id, province) each, read once per request."""
    cached = getattr(request, "_ita_membership_rows", None)
    if cached is None:
        cached = request._ita_membership_rows = list(
            Membership.objects.filter(user=request.user).values_list("role", "agency_id", "province")
        )
    return cached


def _memberships(request):
    """The user's (role, agency id) pairs, read once per request: the admin asks its permission
    questions dozens of times per page (sidebar, buttons, each registered model)."""
    cached = getattr(request, "_ita_memberships", None)
    if cached is None:
        cached = request._ita_memberships = {(role, agency_id) for role, agency_id, _ in _membership_rows(request)}
    return cached


def _may_view_agency(request, agency_id):
    """Whether the agency is among agencies_for(user), asked once per agency and request: a change
    page asks it for the object several times (view, buttons, history link)."""
    visible = request.__dict__.setdefault("_ita_visible_agencies", {})
    if agency_id not in visible:
        visible[agency_id] = agencies_for(request.user).filter(pk=agency_id).exists()
    return visible[agency_id]


def _is_staff_somewhere(request):
    return any(role == STAFF for role, _ in _memberships(request))


class NotFoundOutsideQueryset:
    """An admin whose object pages answer 404 for a row outside get_queryset(request)."""

    def _require_visible(self, request, object_id):
        # The stock admin redirects to the index for an object outside the queryset;
        # answer 404 instead, the same as for an object that does not exist.
        if object_id is not None:
            try:
                found = self.get_object(request, object_id)
            except (ValueError, TypeError, ValidationError):
                found = None
            if found is None:
                raise Http404("ไม่พบข้อมูลนี้ หรือท่านไม่มีสิทธิ์เข้าถึง")
            # The view's own get_object takes it (once) instead of reading the row again.
            request._ita_found_object = (self.model, str(object_id), found)

    def get_object(self, request, object_id, from_field=None):
        found = request.__dict__.pop("_ita_found_object", None)
        if found is not None and from_field is None and found[:2] == (self.model, str(object_id)):
            return found[2]
        return super().get_object(request, object_id, from_field)


class MembersOnlyModule:
    """An admin module listed for superusers and for members of some agency (any role)."""

    def _is_member(self, request):
        return bool(_memberships(request))

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser or self._is_member(request))


class AfterEachWrite:
    """An admin that calls `after_write(value)` with the `after_write_key` attribute of every
    object it saves or deletes (once per distinct value for a bulk delete): for derived data
    that must follow an edit."""

    after_write_key = None

    def after_write(self, value):
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        self.after_write(getattr(obj, self.after_write_key))

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self.after_write(getattr(obj, self.after_write_key))

    def delete_queryset(self, request, queryset):
        values = set(queryset.values_list(self.after_write_key, flat=True))
        super().delete_queryset(request, queryset)
        for value in values:
            self.after_write(value)


class AgencyScopedAdmin(MembersOnlyModule, NotFoundOutsideQueryset, admin.ModelAdmin):
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
        # agencies_for's rule, on the memberships this request has read already.
        return queryset.filter(agencies_filter(_membership_rows(request), self.agency_path))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and not request.user.is_superuser:
            # Read through get_queryset, so within agencies_for(user): has_view_permission
            # need not ask the database again.
            request.__dict__.setdefault("_ita_visible_agencies", {})[self._agency_id(obj)] = True
        return obj

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return self._is_member(request)
        return _may_view_agency(request, self._agency_id(obj))

    def has_change_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return _is_staff_somewhere(request)
        return (STAFF, self._agency_id(obj)) in _memberships(request)

    def has_add_permission(self, request):
        return request.user.is_superuser or _is_staff_somewhere(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

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


class ChoiceLabelsHelper(HistoricalRecordContextHelper):
    """Old → new values as people read them: choice labels, people by name, Thai dates and
    Bangkok times, "-" for empty; the version counter (bumped by every save) is left out."""

    def context_for_delta_changes(self, delta):
        shown = [c for c in delta.changes if c.field != "version"]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=shown))

    def prepare_delta_change_value(self, change, value):
        field = self.model._meta.get_field(change.field)
        if value is None or value == "" or (isinstance(value, DeletedObject) and value.pk is None):
            return "-"
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if isinstance(value, bool):
            return "ใช่" if value else "ไม่ใช่"
        if isinstance(value, AbstractBaseUser):
            return value.get_full_name() or value.get_username()
        if isinstance(value, datetime.datetime):
            local = timezone.localtime(value)
            return f"{thai_date_short(local, digits='arabic')} {local:%H:%M}"
        if isinstance(value, datetime.date):
            return thai_date_short(value, digits="arabic")
        return super().prepare_delta_change_value(change, value)


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """simple_history's history page in Thai: when, who, what changed (old → new), with
    the changes of related rows above it (an assessment's scores, a plan's measures).

    Read-only: reverting would save an old copy over the workflow state (a signed plan
    back to draft) and around the version check, so it is not offered."""

    object_history_template = "admin/history_with_related.html"
    history_list_display = ["history_when_display", "history_who_display"]

    def history_when_display(self, record):
        return history_when(record)

    def history_who_display(self, record):
        return history_who(record)

    def history_view_title(self, request, obj):
        return f"ประวัติการแก้ไข: {obj}"

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("ประวัติการแก้ไขดูได้อย่างเดียว")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        return ChoiceLabelsHelper(self.model, historical_record)

    def related_history(self, request, object_id):
        """Sections of related rows' changes, shown above the object's own history."""
        return []

    def history_view(self, request, object_id, extra_context=None):
        context = {"related_history": self.related_history(request, object_id), **(extra_context or {})}
        return super().history_view(request, object_id, context)


class ScopedHistoryAdmin(AgencyScopedAdmin, ReadOnlyHistoryAdmin):
    """AgencyScopedAdmin with the history pages. AgencyScopedAdmin comes first so that its
    404 for another agency's object runs before simple_history's views."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._require_visible(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


def history_when(record):
    local = timezone.localtime(record.history_date)
    return f"{thai_date_short(local, digits='arabic')} {local:%H:%M:%S}"


def history_who(record):
    user = record.history_user
    if user is None:
        return "ระบบ (ไม่ระบุผู้ใช้)"
    return user.get_full_name() or user.get_username()


HISTORY_ACTIONS = {"+": "เพิ่ม", "~": "แก้ไข", "-": "ลบ"}
NO_EARLIER_RECORD = "(ไม่มีบันทึกค่าเดิม)"
SAVE_GAP = datetime.timedelta(seconds=2)


def related_changes(records, *, model, describe, shown_fields):
    """The changes of related rows (an assessment's scores, a plan's measures) from their
    historical records, one entry per save, newest first: when, who, and every row it
    changed (what, action, field, old → new).

    Old values come from the previous record of the same row; an added row shows
    `shown_fields` as "-" → value, a deleted one as value → "-". Records of one save (same
    user, written less than SAVE_GAP apart) are grouped: a score page save is one entry."""
    changes, previous = [], {}
    for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        helper = ChoiceLabelsHelper(model, record)
        before = previous.get(record.id)
        previous[record.id] = record
        if record.history_type == "~" and before is not None:
            fields = helper.context_for_delta_changes(record.diff_against(before, foreign_keys_are_objs=True))
        else:
            fields = []
            for name in shown_fields:
                value = helper.format_delta_change(ModelChange(name, None, getattr(record, name))).new
                if record.history_type == "+":
                    old, new = "-", value
                elif record.history_type == "-":
                    old, new = value, "-"
                elif getattr(record, "old_value", None) is not None:
                    # The score page and the import record the value they replaced (Score only).
                    old = helper.format_delta_change(ModelChange(name, None, record.old_value)).new
                    new = value
                else:
                    # Rows saved before history was kept (bulk writes, loaddata) have no earlier record.
                    old, new = NO_EARLIER_RECORD, value
                fields.append({"field": model._meta.get_field(name).verbose_name, "old": old, "new": new})
        what, action = describe(record), HISTORY_ACTIONS.get(record.history_type, "")
        changes.extend((record, {"what": what, "action": action, **field}) for field in fields)
    saves = []
    for record, change in changes:
        last = saves[-1] if saves else None
        # An import is its own entry, even when its user edits the score page right after.
        batch_id = getattr(record, "import_batch_id", None)
        if (last and last["user_id"] == record.history_user_id and last["batch_id"] == batch_id
                and record.history_date - last["at"] < SAVE_GAP):
            last["changes"].append(change)
        else:
            who = history_who(record)
            if batch_id is not None:
                who = f"{who} (นำเข้าจากไฟล์ {record.import_batch.file_name})"
            last = {"when": history_when(record), "who": who, "user_id": record.history_user_id,
                    "batch_id": batch_id, "changes": [change]}
            saves.append(last)
        last["at"] = record.history_date
    saves.reverse()
    return saves


MISSING_VERSION_MESSAGE = (
    "ยังไม่ได้บันทึก: แบบฟอร์มที่ส่งมาไม่มีฉบับของข้อมูลที่เปิดแก้ไข (ช่อง version) จึงตรวจไม่ได้ว่ามีผู้อื่น"
    "บันทึกก่อนหรือไม่ กรุณาเปิดหน้านี้ใหม่แล้วแก้ไขอีกครั้ง"
)


class LoadedVersionForm(forms.ModelForm):
    """Carries, hidden, the version of the record the page was loaded with. The save
    compares it with the stored version in the same transaction as the writes and is
    refused if someone saved in between (no lost updates). Required on a change: a save
    without it (an old page, a script) could not be checked, so it is refused too."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    # Set by VersionedChangeAdmin when a save was refused: the form comes back with the input kept.
    edit_conflict = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial.setdefault("version", self.instance.version)
            self.fields["version"].required = True
            self.fields["version"].error_messages["required"] = "ไม่มีฉบับของข้อมูลที่เปิดแก้ไข"

    def clean(self):
        cleaned_data = super().clean()
        if self.edit_conflict:
            raise ValidationError(STALE_EDIT_MESSAGE, code="stale")
        if self.fields["version"].required and cleaned_data.get("version") is None:
            # Also shown above the form: the admin does not show errors of a hidden field.
            raise ValidationError(MISSING_VERSION_MESSAGE, code="version_missing")
        return cleaned_data


class VersionedChangeAdmin(admin.ModelAdmin):
    """Change forms built on LoadedVersionForm. save_model claims the version through a
    service (which raises EditConflict); the refused save is rolled back by the admin's
    transaction and the form is shown again with the user's input and the Thai message."""

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not self.has_change_permission(request, obj):
            return fieldsets
        (name, options), *rest = fieldsets
        return [(name, {**options, "fields": [*options["fields"], "version"]}), *rest]

    def get_form(self, request, obj=None, change=False, **kwargs):
        fields = kwargs["fields"] if "fields" in kwargs else flatten_fieldsets(self.get_fieldsets(request, obj))
        if fields is not None:
            # `version` is a declared form field, not an editable model field.
            kwargs["fields"] = [f for f in fields if f != "version"]
        form = super().get_form(request, obj, change=change, **kwargs)
        if getattr(request, "_edit_conflict", False):
            form = type(form.__name__, (form,), {"edit_conflict": True})
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except EditConflict:
            # The admin's transaction has rolled back every write of this save. Show the
            # form again, bound to what the user sent, with the message as a form error.
            request._edit_conflict = True
            return super().changeform_view(request, object_id, form_url, extra_context)


PART_LABELS = {"": "คะแนน", "public": "EITPublic", "survey": "EITSurvey"}
TRIAGE_ICONS = {scoring.Triage.URGENT: "▲", scoring.Triage.IMPROVE: "●", scoring.Triage.MAINTAIN: "✓"}


def score_field_name(code, part):
    return "score_" + code.replace(".", "_") + (f"__{part}" if part else "")


class ScoreInput(forms.TextInput):
    """The score box, rendered as Django's template would (type, name, value, attributes) but without
    the template engine or a context per box: a score page has about ninety of them, which cost
    more than the rest of the page together."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        shown = "" if value is None else f' value="{escape(value)}"'
        if attrs and attrs.keys() & self.attrs.keys():
            attrs, extra = {**self.attrs, **attrs}, ""
        else:
            attrs, extra = attrs or {}, self._own_attrs
        return mark_safe(f'<input type="{self.input_type}" name="{escape(name)}"{shown}{extra}{_attrs_html(attrs)}>')

    @functools.cached_property
    def _own_attrs(self):
        # The same on every box (inputmode, size, class): written once.
        return _attrs_html(self.attrs)


def _attrs_html(attrs):
    return "".join(
        f" {key}" if attr is True else f' {key}="{escape(attr)}"' for key, attr in attrs.items() if attr is not False
    )


class ScoreField(forms.CharField):
    """A score read by scoring.parse_score, the import's parser too; errors name the item in Thai."""

    def __init__(self, *, item_label, **kwargs):
        self.item_label = item_label
        super().__init__(required=False, **kwargs)

    def __deepcopy__(self, memo):
        # A form deep-copies its fields on every instance (about ninety score fields a page).
        # Score fields are shared by design (score_fields) and never changed once built.
        return self

    def clean(self, value):
        try:
            return scoring.parse_score(super().clean(value))
        except ValueError as e:
            raise ValidationError(f"{self.item_label}: {e}") from None


class AssessmentForm(LoadedVersionForm):
    class Meta:
        model = Assessment
        fields = ["agency", "fiscal_year", "notes"]

    # Filled in by AssessmentAdmin.get_form for the assessment's year.
    score_items = ()
    # The existing assessment of the same agency and year, when the form would duplicate it.
    duplicate = None

    def clean(self):
        cleaned_data = super().clean()
        agency, fiscal_year = cleaned_data.get("agency"), cleaned_data.get("fiscal_year")
        if agency is not None and fiscal_year is not None:
            self.duplicate = (
                Assessment.objects.filter(agency=agency, fiscal_year=fiscal_year).exclude(pk=self.instance.pk).first()
            )
            if self.duplicate is not None:
                raise ValidationError(duplicate_assessment_message(self.duplicate), code="duplicate")
        return cleaned_data

    def _get_validation_exclusions(self):
        # The duplicate is already named, with a link, by clean(): leave the (agency, year)
        # constraint out of the model's checks, which would add the generic English message.
        exclude = super()._get_validation_exclusions()
        if self.duplicate is not None:
            exclude.add("agency")
        return exclude

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The stored figures, {(code, part): value}: the boxes' initial values, and what the page
        # scores (AssessmentAdmin.render_change_form) without reading them again.
        self.stored_scores = {}
        if self.score_items and self.instance.pk:
            stored = self.instance.scores.values_list("item__code", "part", "value")
            for code, part, value in stored:
                self.stored_scores[(code, part)] = value
                self.initial[score_field_name(code, part)] = f"{value:.2f}"

    def score_values(self):
        return {
            (item.code, part): self.cleaned_data.get(score_field_name(item.code, part))
            for item in self.score_items
            for part in item_parts(item)
        }


def duplicate_assessment_message(existing):
    """A duplicate assessment named in Thai, with a link to the record that already exists."""
    url = reverse("admin:assessments_assessment_change", args=[existing.pk])
    return format_html(
        'ผลการประเมินของ{} ปีงบประมาณ {} มีอยู่ในระบบแล้ว: <a href="{}">{}</a> '
        "หน่วยงานหนึ่งมีผลการประเมินได้ปีละหนึ่งรายการ กรุณาเปิดรายการนั้นเพื่อกรอกหรือแก้ไขคะแนน",
        existing.agency.name, existing.fiscal_year.year, url, existing,
    )


_score_fields_cache = {}


def score_fields(items):
    """The score fields of a framework: {field name: ScoreField}. Built once per version of the
    framework (its items' codes, labels and parts) and shared: a form copies its fields from the
    class on every instance, and a year has about ninety of them."""
    key = tuple((item.code, item.label, item.has_parts) for item in items)
    fields = _score_fields_cache.get(key)
    if fields is None:
        fields = {}
        for item in items:
            for part in item_parts(item):
                label = item.label if not part else f"{item.code} {PART_LABELS[part]}"
                fields[score_field_name(item.code, part)] = ScoreField(
                    item_label=label,
                    label=PART_LABELS[part],
                    widget=ScoreInput(attrs={"inputmode": "decimal", "size": 6, "class": "score-input"}),
                )
        if len(_score_fields_cache) > 50:  # frameworks edited many times in one process
            _score_fields_cache.clear()
        _score_fields_cache[key] = fields
    return fields


def item_parts(item):
    return ("", "public", "survey") if item.has_parts else ("",)


TRIAGE_BADGES = {
    band: format_html('<span class="triage triage-{}" title="{}">{} {}</span>', band.value, band.label, icon, band.label)
    for band, icon in TRIAGE_ICONS.items()
}


def triage_badge(value):
    band = scoring.triage_of(value)
    return "" if band is None else TRIAGE_BADGES[band]


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
class AssessmentAdmin(VersionedChangeAdmin, ScopedHistoryAdmin):
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

    def get_queryset(self, request):
        # The change page shows the agency and the year (title, read-only fields): read them with the row.
        return super().get_queryset(request).select_related("agency", "fiscal_year")

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
        items = framework_items(fiscal_year)
        return type("AssessmentScoresForm", (base,), {"score_items": items, **score_fields(items)})

    @staticmethod
    def _score_nodes(items):
        """The framework as scoring nodes, from the items the form already holds (framework_nodes
        would read them again)."""
        return framework_nodes_of(items)

    def get_changeform_initial_data(self, request):
        return {k: v for k, v in request.GET.items() if k in ("agency", "fiscal_year")}

    def save_model(self, request, obj, form, change):
        values = form.score_values() if form.score_items else {}
        if change:
            # Scores first: the service claims the version the page was loaded with before
            # any write, and sets obj's version and summary, which the save below keeps.
            assessment_save_scores(
                assessment=obj, values=values, expected_version=form.cleaned_data.get("version"), user=request.user
            )
            super().save_model(request, obj, form, change)
            return
        super().save_model(request, obj, form, change)
        if form.score_items:
            assessment_save_scores(assessment=obj, values=values, user=request.user)
        else:
            assessment_refresh(assessment=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The year's national and provincial averages now, not at the next page that reads them.
        aggregates_refresh(fiscal_year=form.instance.fiscal_year, province=form.instance.agency.province)

    def related_history(self, request, object_id):
        records = Score.history.filter(assessment_id=object_id).select_related(
            "item", "history_user", "import_batch"
        )
        return [{
            "title": "ประวัติการแก้ไขคะแนน",
            "show_field": False,
            "saves": related_changes(records, model=Score, describe=score_label, shown_fields=["value"]),
        }]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        if form.score_items:
            result = None
            if obj is not None:
                # The stored figures, as compute_assessment would read them: the form read them already.
                result = compute_assessment(obj, nodes=self._score_nodes(form.score_items), official=form.stored_scores)
            editable = add or self.has_change_permission(request, obj)
            context["score_sections"] = build_score_sections(form, result, editable=editable)
            context["score_result"] = result
            context["score_errors"] = [
                error for name, errors in form.errors.items() if name.startswith("score_") for error in errors
            ]
        elif add:
            context["fiscal_years"] = list(FiscalYear.objects.order_by("-year"))
        context["fieldsets_html"] = fieldsets_html(context["adminform"])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request, obj, post_url_continue=None):
        # The scores of a new assessment are entered on its change page.
        if "_addanother" not in request.POST and "_popup" not in request.POST:
            self.message_user(request, f"สร้าง “{obj}” แล้ว กรอกคะแนนได้ในหน้านี้")
            return HttpResponseRedirect(reverse("admin:assessments_assessment_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)


def fieldsets_html(adminform):
    """The form's fieldsets as admin/includes/fieldset.html writes them, for the simple case the
    assessment page has (no fieldset name or description; one field a line, not a checkbox),
    else None and the page uses the template. The same elements, classes and contents, from
    the same admin helpers (label_tag, contents, the bound field): the template's generic loops
    cost more than the score table's seventy rows."""
    parts = []
    for fieldset in adminform:
        if fieldset.name or fieldset.description:
            return None
        parts.append(f'<fieldset class="module aligned {escape(fieldset.classes)}">\n')
        for line in fieldset:
            fields = list(line)
            if len(line.fields) != 1 or len(fields) != 1 or fields[0].is_checkbox:
                return None
            field = fields[0]
            if field.is_readonly:
                info = field.field
                name, help_text, is_hidden, id_for_label = info["name"], info["help_text"], info["is_hidden"], ""
                box = f'<div class="readonly">{field.contents()}</div>'
            else:
                bound = field.field
                name, help_text, is_hidden, id_for_label = bound.name, bound.help_text, bound.is_hidden, bound.id_for_label
                box = str(bound)
            errors = line.errors()
            row_class = "form-row" + (" errors" if errors else "") + ("" if line.has_visible_field else " hidden")
            if name:
                row_class += f" field-{escape(name)}"
            parts.append(
                f'<div class="{row_class}">{errors}\n<div>\n<div class="flex-container">\n{field.label_tag()}\n{box}\n</div>\n'
            )
            if help_text:
                described = f' id="{escape(id_for_label)}_helptext"' if id_for_label else ""
                parts.append(f'<div class="help{" hidden" if is_hidden else ""}"{described}>\n<div>{help_text}</div>\n</div>\n')
            parts.append("</div>\n</div>\n")
        parts.append("</fieldset>\n")
    return mark_safe("".join(parts))


def score_label(score):
    """A score as the history lists it: "i1 เจ้าหน้าที่ของหน่วยงาน…", "e4 EITSurvey", "คะแนนรวม"."""
    if score.part:
        return f"{score.item.code} {PART_LABELS[score.part]}"
    return Truncator(score.item.label).chars(60)


def build_score_sections(form, result, *, editable=True):
    """Rows for the one-page score entry, grouped by tool in the framework's order. The rows under
    a tool (about seventy in FY2568) come with their HTML (score_row_html); the template lays out
    the overall and tool rows."""
    sections = []
    findings = {}
    for finding in result.findings if result else ():
        findings.setdefault(finding.code, finding)
    for item in form.score_items:
        figure = result.figures.get(item.code) if result else None
        row = {
            "item": item,
            "computed": format_score(figure.computed, digits="arabic") if figure and figure.computed is not None else "",
            "value": figure.value if figure else None,
            "badge": triage_badge(figure.value) if figure and item.kind in ("indicator", "sub_indicator", "question") else "",
            "finding": findings.get(item.code),
        }
        if item.kind in ("overall", "tool"):
            row["fields"] = [form[score_field_name(item.code, part)] for part in item_parts(item)]
            sections.append({"head": row, "rows": []})
        else:
            row["html"] = score_row_html(form, row, editable)
            sections[-1]["rows"].append(row)
    if result and result.level:
        sections[0]["level"] = result.level
    return sections


def score_row_html(form, row, editable):
    """One row of the score table: the item, its boxes (or the stored figures, read-only), the
    computed figure with a mark where it differs from the published one, and the triage badge.

    Written here rather than in the template, and each box as {{ field }} renders it but without
    a BoundField (its value: what was sent, else the stored figure; its id; aria-invalid and
    aria-describedby on an error; a score field is never required or disabled and has no help
    text): the template engine spent more on these seventy rows than on the rest of the page."""
    item = row["item"]
    errors_of = form.errors if form.is_bound else {}
    cells = []
    for part in item_parts(item):
        name = form.add_prefix(score_field_name(item.code, part))
        field = form.fields[name]
        value = field.widget.value_from_datadict(form.data, form.files, name) if form.is_bound else form.initial.get(name)
        errors = errors_of.get(name, ())
        label = escape(field.label) if item.has_parts else ""
        if editable:
            box_id = form.auto_id % name
            attrs = {"aria-invalid": "true", "aria-describedby": f"{box_id}_error", "id": box_id} if errors else {"id": box_id}
            box = field.widget.render(name, value, attrs)
        else:
            box = f'<span class="ro-score">{escape(value or "-")}</span>'
        # The box's aria-describedby names this element, so a screen reader reads the message with it.
        messages = (
            f'<div class="errorlist" id="{form.auto_id % name}_error">'
            + "".join(f"<div>{escape(e)}</div>" for e in errors) + "</div>"
            if errors else ""
        )
        cells.append(f'<label class="part"><span class="part-label">{label}</span>{box}</label>{messages}')
    finding = row["finding"]
    mark = ""
    if finding is not None:
        sign = "⚠" if finding.kind == "warning" else "ℹ"
        mark = f'<div class="finding {escape(finding.kind)}">{sign} ต่างจากที่ประกาศ</div>'
    return mark_safe(
        f'<tr class="kind-{escape(item.kind)}{" has-finding" if finding is not None else ""}">'
        f'<th scope="row">{escape(item.label)}</th>'
        f'<td class="entry">{"".join(cells)}</td>'
        f'<td class="computed">{escape(row["computed"] or "-")}{mark}</td>'
        f"<td>{row['badge']}</td></tr>\n"
    )


class AgencyForm(forms.ModelForm):
    # Write-only: the stored password is never put back into the page (it is kept encrypted,
    # see ita_portal.signing_secrets). Empty keeps it; the checkbox removes it.
    signing_pkcs12_password = forms.CharField(
        label=signing_secrets.PASSWORD_LABEL,
        required=False,
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="ระบบไม่แสดงรหัสผ่านที่บันทึกไว้ เว้นว่างไว้เพื่อใช้รหัสผ่านเดิม "
        "กรอกเมื่ออัปโหลดใบรับรองใหม่หรือเปลี่ยนรหัสผ่าน",
    )
    clear_signing_pkcs12_password = forms.BooleanField(label="ลบรหัสผ่านใบรับรองที่บันทึกไว้", required=False)

    class Meta:
        model = Agency
        fields = ["code", "name", "agency_type", "district", "province", "emblem", "table_digits",
                  "signing_pkcs12", "signing_pkcs12_password", "clear_signing_pkcs12_password",
                  "approver_may_sign"]
        # A FileField, not an ImageField: clean_emblem reads the content and answers in Thai.
        field_classes = {"emblem": forms.FileField}

    def clean_emblem(self):
        emblem = self.cleaned_data.get("emblem")
        if isinstance(emblem, UploadedFile):
            validate_emblem(emblem)
            emblem = with_random_name(emblem)
        return emblem

    def clean(self):
        """A certificate is kept only when it is a PKCS#12 that opens with the password that will
        be stored with it (the one typed, else the one already stored)."""
        cleaned = super().clean()
        self.new_signing_password = None  # None: leave the stored ciphertext as it is
        if "signing_pkcs12" not in cleaned:
            return cleaned
        certificate = cleaned["signing_pkcs12"]
        typed = cleaned.get("signing_pkcs12_password") or ""
        clear = cleaned.get("clear_signing_pkcs12_password")
        if typed and clear:
            self.add_error("clear_signing_pkcs12_password", "กรอกรหัสผ่านใหม่ หรือเลือกลบรหัสผ่าน อย่างใดอย่างหนึ่ง")
            return cleaned
        if certificate is False:  # the certificate is removed: its password goes with it
            self.new_signing_password = ""
            return cleaned
        if typed or clear:
            password = typed
        else:
            try:
                password = self.instance.signing_password()
            except signing_secrets.UnreadableSecret:
                password = ""
        if isinstance(certificate, UploadedFile):
            data = certificate.read(signing_secrets.PKCS12_MAX_BYTES + 1)
            certificate.seek(0)
        elif certificate and (typed or clear):
            try:
                with certificate.open("rb") as f:
                    data = f.read(signing_secrets.PKCS12_MAX_BYTES + 1)
            except OSError:
                self.add_error("signing_pkcs12", f"{signing_secrets.CERTIFICATE_LABEL}: ไม่พบไฟล์ใบรับรองเดิม "
                               "กรุณาอัปโหลดใบรับรองใหม่")
                return cleaned
        else:
            if typed or clear:
                self.new_signing_password = password
            return cleaned
        problem = signing_secrets.pkcs12_problem(data, password)
        if problem is not None:
            kind, message = problem
            self.add_error("signing_pkcs12_password" if kind == "password" else "signing_pkcs12", message)
            return cleaned
        if isinstance(certificate, UploadedFile):
            # Never the sender's file name ("mayor-somchai-2568.p12").
            certificate.name = uuid4().hex + ".p12"
        self.new_signing_password = password
        return cleaned

    def save(self, commit=True):
        if getattr(self, "new_signing_password", None) is not None:
            self.instance.set_signing_password(self.new_signing_password)
        return super().save(commit)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    form = AgencyForm
    list_display = ["code", "name", "agency_type", "district", "province"]
    list_filter = ["agency_type", "province"]
    search_fields = ["code", "name", "province", "district"]

    def get_queryset(self, request):
        if request.user.is_superuser:
            return super().get_queryset(request)
        return agencies_for(request.user)

    def has_module_permission(self, request):
        # The login page lists apps for the anonymous visitor too: no Membership query for them.
        return request.user.is_active and (
            request.user.is_superuser or bool(_memberships(request))
        )

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return bool(_memberships(request))
        return agencies_for(request.user).filter(pk=obj.pk).exists()

    readonly_fields = ["signing_password_status"]

    # Nor on an error page or in an error report of a failed save.
    @method_decorator(sensitive_post_parameters("signing_pkcs12_password"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fields(self, request, obj=None):
        fields = [f for f in super().get_fields(request, obj) if f != "signing_password_status"]
        if not self.has_change_permission(request, obj):
            # Read-only page: no password inputs, only whether one is stored.
            fields = [f for f in fields if f not in ("signing_pkcs12_password", "clear_signing_pkcs12_password")]
        at = fields.index("signing_pkcs12") + 1 if "signing_pkcs12" in fields else len(fields)
        return [*fields[:at], "signing_password_status", *fields[at:]]

    @admin.display(description="สถานะรหัสผ่านใบรับรอง")
    def signing_password_status(self, obj):
        if obj is None or not obj.signing_pkcs12_password_encrypted:
            return "ยังไม่ได้บันทึกรหัสผ่าน"
        return "บันทึกรหัสผ่านไว้แล้ว (เข้ารหัสไว้ ไม่แสดงบนหน้าจอ)"

    def save_model(self, request, obj, form, change):
        old = Agency.objects.filter(pk=obj.pk).values_list("signing_pkcs12", flat=True).first() if change else ""
        super().save_model(request, obj, form, change)
        if old and old != obj.signing_pkcs12.name:
            # A replaced or removed certificate is a private key: do not leave it in MEDIA_ROOT.
            storage = obj.signing_pkcs12.storage
            transaction.on_commit(lambda: storage.delete(old))
        if change:
            from plans.prerender import documents_enqueue_for_agency  # plans depends on assessments

            documents_enqueue_for_agency(obj.pk)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyHistoryAdmin):
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

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if change and any(formset.has_changed() for formset in formsets):
            # The year's stored levels were decided by the old rules.
            fiscal_year_restate_after_commit(form.instance.pk)


@admin.register(AnalysisPhrase)
class AnalysisPhraseAdmin(admin.ModelAdmin):
    list_display = ["code", "fiscal_year", "key", "strength", "finding", "advice"]
    list_filter = ["fiscal_year"]
    list_select_related = ["fiscal_year"]
    search_fields = ["key", "code", "strength", "finding", "advice"]


@admin.register(FrameworkItem)
class FrameworkItemAdmin(AfterEachWrite, admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "fiscal_year", "order", "weight"]
    list_filter = ["fiscal_year", "kind"]
    list_select_related = ["fiscal_year", "parent"]
    search_fields = ["code", "name"]
    ordering = ["-fiscal_year__year", "order"]
    # A weight, a parent or what counts for the level changes the year's stored summaries.
    after_write_key = "fiscal_year_id"

    def after_write(self, fiscal_year_id):
        fiscal_year_restate_after_commit(fiscal_year_id)


class ScoreProvinceFilter(ProvinceFilter):
    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(assessment__agency__province=self.value())
        return queryset


class ScoreLevelFilter(LevelFilter):
    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(assessment__level=self.value())
        return queryset


class ScoreHasUrgentFilter(HasUrgentFilter):
    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(assessment__urgent_indicator_count__gt=0)
        if self.value() == "no":
            return queryset.filter(assessment__urgent_indicator_count=0)
        return queryset


class ScoreImportForm(forms.Form):
    import_file = forms.FileField(
        label="ไฟล์คะแนน",
        help_text="CSV (UTF-8) หรือ Excel (.xlsx) แบบแถวละคะแนน หรือแบบแถวละหน่วยงาน",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,text/csv"}),
    )

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        problem = file_size_problem(upload.size)
        if problem:
            raise ValidationError(problem)
        return upload


class ScoreImportConfirmForm(forms.Form):
    batch = forms.IntegerField(widget=forms.HiddenInput)


class ScoreExportForm(ExportForm):
    """The library's export form (every column, always: an export is meant to be imported back)
    with Thai labels and CSV chosen."""

    TITLES = {"csv": "CSV (UTF-8 เปิดด้วย Excel ได้)", "xlsx": "Excel (.xlsx)"}

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        field = self.fields["format"]
        field.label = "รูปแบบไฟล์"
        field.choices = [(value, self.TITLES.get(title, title)) for value, title in field.choices if value != ""]
        field.initial = "0"


@admin.register(Score)
class ScoreAdmin(ImportExportMixin, AgencyScopedAdmin):
    """Scores are read here and imported or exported in bulk; they are edited on the assessment page.

    The import replaces the library's preview (one diff row per data row: megabytes of HTML for
    a national file) with counts, every problem, and a sample of the changes; the checked file is
    kept on an ImportBatch until it is confirmed, then imported in the request or, above
    IMPORT_SYNC_MAX_ROWS figures, by a background task with a progress page."""

    agency_path = "assessment__agency"
    resource_classes = [ScoreResource]
    import_template_name = "admin/assessments/score/import.html"
    import_batch_template_name = "admin/assessments/score/import_batch.html"
    export_form_class = ScoreExportForm
    export_template_name = "admin/assessments/score/export.html"
    export_formats = [base_formats.CSV, base_formats.XLSX]
    # Excel opens a CSV of Thai text correctly only with the UTF-8 byte order mark.
    to_encoding = "utf-8-sig"
    list_display = ["assessment", "item", "part", "value"]
    list_filter = [
        "assessment__fiscal_year",
        ScoreProvinceFilter,
        "assessment__agency__agency_type",
        ScoreLevelFilter,
        ScoreHasUrgentFilter,
        "item__kind",
    ]
    list_select_related = ["assessment__agency", "assessment__fiscal_year", "item"]
    search_fields = ["assessment__agency__name", "assessment__agency__code", "item__code"]
    raw_id_fields = ["assessment", "item"]

    def has_add_permission(self, request):
        # Scores are entered on the assessment page, where they are validated together.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_import_permission(self, request):
        return request.user.is_superuser or _is_staff_somewhere(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def get_export_resource_kwargs(self, request, **kwargs):
        allowed = None if request.user.is_superuser else set(agencies_for(request.user).values_list("pk", flat=True))
        return {**super().get_export_resource_kwargs(request, **kwargs), "allowed_agency_ids": allowed}

    def init_request_context_data(self, request, form):
        context = super().init_request_context_data(request, form)
        context["title"] = "ส่งออกคะแนน"
        context["export_count"] = self.get_export_queryset(request).count()
        context["filtered"] = bool(request.GET)
        context["columns"] = THAI_COLUMNS
        return context

    def get_export_filename(self, request, queryset, file_format):
        return f"ita-scores-{timezone.localdate():%Y-%m-%d}.{file_format.get_extension()}"

    def get_urls(self):
        batch = path(
            "import/<int:batch_id>/",
            self.admin_site.admin_view(self.import_batch_view),
            name="assessments_score_import_batch",
        )
        return [batch, *super().get_urls()]

    def _import_context(self, request, **context):
        batches = ImportBatch.objects.select_related("user")
        if not request.user.is_superuser:
            batches = batches.filter(user=request.user)
        request.current_app = self.admin_site.name
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "sync_max_rows": import_sync_max_rows(),
            "recent_batches": batches[:10],
            **context,
        }

    def import_action(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ScoreImportForm(request.POST or None, request.FILES or None)
        context = {"title": "นำเข้าคะแนน", "form": form}
        if request.method == "POST" and form.is_valid():
            batch, plan = import_batch_preview(user=request.user, upload=form.cleaned_data["import_file"])
            context.update(batch=batch, plan=plan, problems=plan.problems[:LISTED_PROBLEMS])
            if not plan.problems:
                context["confirm_form"] = ScoreImportConfirmForm(initial={"batch": batch.pk})
        return TemplateResponse(request, [self.import_template_name], self._import_context(request, **context))

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ScoreImportConfirmForm(request.POST)
        if not form.is_valid():
            raise Http404("ไม่พบการนำเข้านี้")
        batch = get_object_or_404(ImportBatch, pk=form.cleaned_data["batch"], user=request.user)
        try:
            import_batch_confirm(batch=batch, user=request.user)
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        return HttpResponseRedirect(reverse("admin:assessments_score_import_batch", args=[batch.pk]))

    def import_batch_view(self, request, batch_id):
        if not self.has_import_permission(request):
            raise PermissionDenied
        batches = ImportBatch.objects.select_related("user")
        if not request.user.is_superuser:
            batches = batches.filter(user=request.user)
        batch = get_object_or_404(batches, pk=batch_id)
        context = {
            "title": f"การนำเข้าคะแนน: {batch.file_name}",
            "batch": batch,
            "running": batch.status in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING),
        }
        return TemplateResponse(request, [self.import_batch_template_name], self._import_context(request, **context))


IMPORT_CHANGES_SHOWN = 500


@admin.register(ImportBatch)
class ImportBatchAdmin(MembersOnlyModule, NotFoundOutsideQueryset, admin.ModelAdmin):
    """Every import of a results file, read-only: who, when, the file's SHA-256 and the counts,
    and on its page each score it added or changed (old → new). Non-superusers see their own
    imports and the imports that changed a score of one of their agencies, and of those only
    their agencies' changes."""

    list_display = ["created_at", "importer", "file_name", "status", "rows", "new", "updated", "unchanged",
                    "agencies_created", "short_hash", "changes_link"]
    list_filter = ["status"]
    list_select_related = ["user"]
    search_fields = ["file_name", "sha256", "user__username", "user__first_name"]
    date_hierarchy = "created_at"
    fields = ["created_at", "finished_at", "importer", "file_name", "sha256", "status", "rows", "new", "updated",
              "unchanged", "agencies_created", "problems", "changes"]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        touched = Score.history.filter(
            import_batch__isnull=False, assessment__agency__in=agencies_for(request.user)
        ).values("import_batch_id")
        return queryset.filter(Q(user=request.user) | Q(pk__in=touched))

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if not self._is_member(request):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Another agency's batch answers 404, like one that does not exist.
        self._require_visible(request, object_id)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_object(self, request, object_id, from_field=None):
        batch = super().get_object(request, object_id, from_field)
        if batch is not None:
            batch.viewer = request.user  # whose agencies `changes` lists
        return batch

    @admin.display(description="ผู้นำเข้า", ordering="user__username")
    def importer(self, batch):
        if batch.user is None:
            return "ระบบ (ไม่ระบุผู้ใช้)"
        return batch.user.get_full_name() or batch.user.get_username()

    @admin.display(description="SHA-256")
    def short_hash(self, batch):
        return format_html('<span title="{}">{}…</span>', batch.sha256, batch.sha256[:12])

    @admin.display(description="คะแนนที่เปลี่ยน")
    def changes_link(self, batch):
        url = reverse("admin:assessments_importbatch_change", args=[batch.pk])
        return format_html('<a href="{}">ดูรายการ</a>', url)

    @admin.display(description="ข้อผิดพลาด")
    def problems(self, batch):
        if not batch.errors:
            return "-"
        return format_html_join("", "<div>{}</div>", ((e.get("text", ""),) for e in batch.errors[:100]))

    @admin.display(description="คะแนนที่เพิ่มหรือเปลี่ยนจากการนำเข้านี้")
    def changes(self, batch):
        records = Score.history.filter(import_batch=batch)
        viewer = getattr(batch, "viewer", None)
        if viewer is None or not viewer.is_superuser:
            records = records.filter(assessment__agency__in=agencies_for(viewer) if viewer else [])
        total = records.count()
        if not total:
            return "ไม่มีคะแนนที่เปลี่ยน"
        rows = records.select_related("assessment__agency", "assessment__fiscal_year", "item").order_by(
            "assessment__agency__code", "item__order", "part"
        )[:IMPORT_CHANGES_SHOWN]
        body = format_html_join("", "<tr><td><a href=\"{}\">{} {}</a></td><td>{}</td><td>{}</td><td>{} → {}</td></tr>", (
            (
                reverse("admin:assessments_assessment_history", args=[r.assessment_id]),
                r.assessment.agency.code,
                r.assessment.agency.name,
                r.assessment.fiscal_year.year,
                score_label(r),
                "-" if r.old_value is None else f"{r.old_value:.2f}",
                f"{r.value:.2f}",
            )
            for r in rows
        ))
        more = f"แสดง {IMPORT_CHANGES_SHOWN:,} จาก {total:,} รายการ" if total > IMPORT_CHANGES_SHOWN else f"{total:,} รายการ"
        return format_html(
            '<p>{}</p><table class="import-changes"><thead><tr><th>หน่วยงาน (ประวัติการแก้ไข)</th>'
            "<th>ปีงบประมาณ</th><th>รายการ</th><th>คะแนนเดิม → ใหม่</th></tr></thead><tbody>{}</tbody></table>",
            more, body,
        )
