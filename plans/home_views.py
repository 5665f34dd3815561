"""The home page (หน่วยงานของฉัน): the agencies a user may see, each with its latest assessment
and latest plan.

Three queries of plain rows for up to 200 agencies (the agencies, their assessments, their plans)
and the rows written in Python: a provincial officer sees 200 agencies, whose six years of
assessments and every plan the page used to load as model instances (about 40 ms of Python)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.safestring import mark_safe

from assessments.converters import AgencyCodeConverter
from assessments.models import Assessment, Membership, agencies_for
from ita_portal.markup import escape, url_maker
from ita_portal.thai import format_score
from plans.models import Plan

ROWS = 200
PLAN_STATUS_LABELS = dict(Plan.Status.choices)


@login_required
def home(request):
    agencies = list(
        agencies_for(request.user).order_by("province", "name").values_list("pk", "code", "name", "province")[:ROWS]
    )
    ids = [pk for pk, *_ in agencies]
    # Every year's figures as plain tuples, newest first, and the first of each agency kept: at
    # 200 agencies as cheap in Python as reading the latest only, and far cheaper for the database
    # than a subquery per row.
    assessments = {}
    for agency_id, year, overall, level in (
        Assessment.objects.filter(agency_id__in=ids)
        .order_by("agency_id", "-fiscal_year__year")
        .values_list("agency_id", "fiscal_year__year", "overall", "level")
    ):
        assessments.setdefault(agency_id, (year, overall, level))
    plans = {}
    for agency_id, pk, target_year, status in (
        Plan.objects.filter(agency_id__in=ids)
        .order_by("agency_id", "-target_year", "-revision")
        .values_list("agency_id", "pk", "target_year", "status")
    ):
        plans.setdefault(agency_id, (pk, target_year, status))
    urls = {
        # An agency code goes through its converter, as reverse() would (NK/001 is one segment).
        "agency": url_maker("plans:agency", None, convert=AgencyCodeConverter().to_url),
        "plan": url_maker("plans:detail", None),
    }
    rows = [_row_html(agency, assessments.get(agency[0]), plans.get(agency[0]), urls) for agency in agencies]
    memberships = Membership.objects.filter(user=request.user).select_related("agency")
    return render(request, "home.html", {"rows": rows, "memberships": memberships})


def _row_html(agency, assessment, plan, urls):
    """One agency's row: its name (to its page), province, latest result and level, latest plan."""
    _, code, name, province = agency
    result, level = "-", "-"
    if assessment is not None:
        year, overall, level = assessment
        result = f"ปี {year}: {format_score(overall, digits='arabic')}"
        level = escape(level or "-")
    plan_cell = "-"
    if plan is not None:
        pk, target_year, status = plan
        plan_cell = (f'<a href="{escape(urls["plan"](pk))}">ปี {target_year}</a> '
                     f'<span class="status status-{escape(status)}">{escape(PLAN_STATUS_LABELS.get(status, status))}</span>')
    return mark_safe(
        "<tr>"
        f'<td data-label="หน่วยงาน"><a href="{escape(urls["agency"](code))}">{escape(name)}</a></td>'
        f'<td data-label="จังหวัด">{escape(province or "-")}</td>'
        f'<td data-label="ผลการประเมินล่าสุด">{result}</td>'
        f'<td data-label="ระดับ">{level}</td>'
        f'<td data-label="แผนล่าสุด">{plan_cell}</td>'
        "</tr>\n"
    )
