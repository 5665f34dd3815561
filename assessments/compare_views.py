import re
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.formats import localize
from django.utils.safestring import mark_safe

from assessments import comparison, scoring
from assessments.charts import PALETTE, Series, line_chart
from assessments.converters import AgencyCodeConverter
from assessments.models import Agency, Assessment, FiscalYear, Membership, agencies_for, compute_assessment
from ita_portal.markup import escape, url_maker
from ita_portal.thai import format_score
from plans.models import Plan

PAGE_SIZE = 50


def _get_agency_for_user(request, code):
    return get_object_or_404(agencies_for(request.user), code=code)


def _visible_provinces(scope):
    provinces = scope.exclude(province="").values_list("province", flat=True).order_by().distinct()
    return sorted(provinces, key=comparison.thai_sort_key)


def _default_province(request, provinces):
    membership = (
        Membership.objects.filter(user=request.user)
        .select_related("agency")
        .order_by("pk")
        .first()
    )
    if membership is not None:
        home = membership.agency.province if membership.agency_id else membership.province
        if home in provinces:
            return home
    return provinces[0]


# Short forms of agency types, as Thai officials write them in tables.
TYPE_SHORT = {"sao": "อบต.", "tambon": "ทต.", "mueang": "ทม.", "nakhon": "ทน.", "pao": "อบจ.", "other": "อื่น ๆ"}

# (sort key, header, whether a first click sorts highest first)
COLUMNS = [
    ("name", "หน่วยงาน", False),
    ("type", "ประเภท", False),
    ("overall", "คะแนนรวม", True),
    ("level", "ระดับ", True),
    ("IIT", "IIT", True),
    ("EIT", "EIT", True),
    ("OIT", "OIT", True),
    ("urgent", "ตัวชี้วัดต่ำกว่า 85", True),
    ("plan", "แผนปีถัดไป", True),
]


NUMBER_COLUMNS = {"overall", "IIT", "EIT", "OIT", "urgent"}  # right-aligned


def _sort_links(base, sort):
    """Header links: a click sorts by the column (numbers highest first), a second click reverses."""
    key, descending = sort.lstrip("-"), sort.startswith("-")
    links = []
    for column, label, high_first in COLUMNS:
        if column == key:
            target = column if descending else f"-{column}"
            arrow = "▼" if descending else "▲"
        else:
            target = f"-{column}" if high_first else column
            arrow = ""
        links.append({"key": column, "label": label, "url": "?" + urlencode({**base, "sort": target}), "arrow": arrow,
                      "number": column in NUMBER_COLUMNS, "active": column == key})
    return links


def _sort_options():
    options = []
    for column, label, high_first in COLUMNS:
        high, low = ("มากไปน้อย", "น้อยไปมาก") if high_first else ("ฮ-ก", "ก-ฮ")
        if column == "type":
            high, low = "อื่น ๆ ก่อน", "อบต. ก่อน"
        if column == "level":
            high, low = "สูงไปต่ำ", "ต่ำไปสูง"
        if column == "plan":
            high, low = "ก้าวหน้ามากไปน้อย", "ก้าวหน้าน้อยไปมาก"
        pair = [(f"-{column}", f"{label} {high}"), (column, f"{label} {low}")]
        options += pair if high_first else pair[::-1]
    return options


@login_required
def province_table(request):
    scope = agencies_for(request.user)
    provinces = _visible_provinces(scope)
    if not provinces:
        return render(request, "compare/province.html", {"provinces": [], "years": []})
    years = list(FiscalYear.objects.order_by("-year"))
    province = request.GET.get("province") or _default_province(request, provinces)
    if province not in provinces:
        raise Http404("ไม่พบจังหวัดนี้ในข้อมูลที่ท่านมีสิทธิ์ดู")
    fiscal_year = _chosen_year(request, scope, years)
    frame = comparison.year_frame(fiscal_year)
    sort = comparison.normalise_sort(request.GET.get("sort"), frame)
    rows = comparison.province_table(scope, province, frame, sort)
    paginator = Paginator(rows, PAGE_SIZE)
    # The number of rows without the annotations (tool scores, plans) the page's rows carry.
    paginator.count = scope.filter(province=province).count()
    page = paginator.get_page(request.GET.get("page"))
    agencies = comparison.complete_rows(list(page.object_list), frame)
    for agency in agencies:
        agency.plan_label = PLAN_STATUS_LABELS.get(agency.plan_status, "")
    urls = {
        # An agency code goes through its converter: one stored before the code rule (NK/001) is one segment.
        "compare": url_maker("assessments:compare_agency", None, fiscal_year.year, convert=AgencyCodeConverter().to_url),
        "trend": url_maker("assessments:compare_trend", None, convert=AgencyCodeConverter().to_url),
        "plan": url_maker("plans:detail", None),
    }
    rows = [_province_row_html(agency, page.start_index() + n, fiscal_year.year + 1, urls) for n, agency in enumerate(agencies)]
    base = {"province": province, "year": fiscal_year.year}
    return render(
        request,
        "compare/province.html",
        {
            "provinces": provinces,
            "province": province,
            "years": years,
            "fiscal_year": fiscal_year,
            "page": page,
            "agencies": agencies,
            "rows": rows,
            "columns": _sort_links(base, sort),
            "page_query": urlencode({**base, "sort": sort}),
            "sort": sort,
            "sort_options": _sort_options(),
            "next_year": fiscal_year.year + 1,
        },
    )


PLAN_STATUS_LABELS = dict(Plan.Status.choices)
AGENCY_TYPE_LABELS = dict(Agency.Type.choices)


def _province_row_html(a, number, next_year, urls):
    """One agency's row of the province table (`a`: a row of comparison.province_table, completed
    by comparison.complete_rows, with its plan_label). Written
    here rather than in the template: fifty rows of eleven cells cost the template engine more
    than the rest of the page."""
    name = escape(a.name)
    if a.assessment_id:
        name = f'<a href="{escape(urls["compare"](a.code))}">{name}</a>'
    district = f" · อ.{escape(a.district)}" if a.district else ""
    type_label = AGENCY_TYPE_LABELS.get(a.agency_type, a.agency_type)
    if a.overall is not None:
        overall = f'<span class="score-{scoring.triage_of(a.overall).value}">{format_score(a.overall, digits="arabic")}</span>'
    else:
        overall = '<span class="muted">ไม่มีผล</span>'
    if a.plan_id:
        plan = (f'<a href="{escape(urls["plan"](a.plan_id))}" class="status status-{escape(a.plan_status)}">'
                f"{escape(a.plan_label)}</a>")
    else:
        plan = '<span class="muted">ยังไม่มีแผน</span>'
    return mark_safe(
        "<tr>"
        f'<td class="num" data-label="ที่">{number}</td>'
        f'<td class="name-cell" data-label="หน่วยงาน">{name}<div class="muted small">{escape(a.code)}{district}</div></td>'
        f'<td data-label="ประเภท"><abbr title="{escape(type_label)}">{escape(TYPE_SHORT.get(a.agency_type, type_label))}</abbr></td>'
        f'<td class="num" data-label="คะแนนรวม">{overall}</td>'
        f'<td class="nowrap" data-label="ระดับ">{escape(a.level or "-")}</td>'
        f'<td class="num" data-label="IIT">{format_score(getattr(a, "IIT", None), digits="arabic")}</td>'
        f'<td class="num" data-label="EIT">{format_score(getattr(a, "EIT", None), digits="arabic")}</td>'
        f'<td class="num" data-label="OIT">{format_score(getattr(a, "OIT", None), digits="arabic")}</td>'
        f'<td class="num" data-label="ตัวชี้วัดต่ำกว่า 85">{escape(a.urgent) if a.assessment_id else "-"}</td>'
        f'<td data-label="แผนปี {next_year}">{plan}</td>'
        f'<td class="nowrap" data-label="แนวโน้ม"><a href="{escape(urls["trend"](a.code))}">ทุกปี</a></td>'
        "</tr>\n"
    )


def _chosen_year(request, scope, years):
    raw = request.GET.get("year")
    if raw:
        try:
            return next(fy for fy in years if fy.year == int(raw))
        except (StopIteration, ValueError):
            raise Http404("ไม่พบปีงบประมาณนี้") from None
    latest = FiscalYear.objects.filter(assessments__agency__in=scope).order_by("-year").first()
    if latest is None:
        if not years:
            raise Http404("ยังไม่มีปีงบประมาณในระบบ")
        return years[0]
    return latest


@login_required
def agency_compare(request, code, year):
    agency = _get_agency_for_user(request, code)
    assessment = get_object_or_404(
        Assessment.objects.select_related("agency", "fiscal_year"), agency=agency, fiscal_year__year=year
    )
    frame = comparison.year_frame(assessment.fiscal_year)
    # The level is already stored on the assessment: no level rules needed here.
    result = compute_assessment(assessment, rules=[])
    values = {code: figure.value for code, figure in result.figures.items()}
    stats = comparison.group_aggregates([assessment.fiscal_year], agency.province, agency.agency_type)
    published = {code for code, figure in result.figures.items() if figure.official is not None}
    indicators = comparison.indicator_comparisons(agency, frame, values, stats, published)
    tools = comparison.tool_comparisons(frame, values, indicators)
    overall = comparison.overall_comparison(assessment, stats)
    years = list(agency.assessments.order_by("-fiscal_year__year").values_list("fiscal_year__year", flat=True))
    return render(
        request,
        "compare/agency.html",
        {
            "agency": agency,
            "assessment": assessment,
            "year": assessment.fiscal_year.year,
            "overall": overall,
            "tools": tools,
            "indicators": indicators,
            "indicator_rows": [_comparison_row_html(c) for c in indicators],
            "tool_rows": [_comparison_row_html(c) for c in tools],
            "overall_row": _comparison_row_html(overall, total=True),
            "years": years,
        },
    )


def _comparison_row_html(c, total=False):
    """One figure of the agency page's table (a comparison.Comparison): its score, the peer
    group's average and the difference, the province's and the nation's averages, the ranks.
    Written here rather than in an included template (fourteen includes a page)."""
    value = "-"
    if c.value is not None:
        value = f'<span class="score-{c.triage.value}">{format_score(c.value, digits="arabic")}</span>'
    d = c.versus_peer
    if d is None:
        versus = "-"
    elif d > 0:
        versus = f'<span class="up">+{localize(d)}</span>'
    elif d < 0:
        versus = f'<span class="down">{localize(d)}</span>'
    else:
        versus = "0.00"
    peer_rank = f"{c.peer_rank} / {c.peer_count}" if c.peer_rank else "-"
    national_rank = f"{c.national_rank} / {c.national_count}" if c.national_rank else "-"
    return mark_safe(
        f'<tr class="{"total" if total else ""}">'
        f'<td data-label="รายการ">{escape(c.label)}</td>'
        f'<td class="num" data-label="คะแนน">{value}</td>'
        f'<td class="num" data-label="เฉลี่ยกลุ่มเดียวกัน">{format_score(c.peer, digits="arabic")}</td>'
        f'<td class="num" data-label="เทียบกลุ่ม">{versus}</td>'
        f'<td class="num" data-label="เฉลี่ยจังหวัด">{format_score(c.province, digits="arabic")}</td>'
        f'<td class="num" data-label="เฉลี่ยทั้งประเทศ">{format_score(c.national, digits="arabic")}</td>'
        f'<td class="num" data-label="ลำดับในกลุ่ม">{peer_rank}</td>'
        f'<td class="num" data-label="ลำดับทั้งประเทศ">{national_rank}</td>'
        "</tr>\n"
    )


@login_required
def agency_trend(request, code):
    agency = _get_agency_for_user(request, code)
    rows = comparison.agency_trend(agency)
    charts = {}
    if rows:
        labels = [str(row.year) for row in rows]
        tool_codes = []
        for row in rows:
            tool_codes += [code for code in row.tools if code not in tool_codes]
        own = [Series("คะแนนรวม", [row.overall for row in rows])] + [
            Series(code, [row.tools.get(code) for row in rows]) for code in tool_codes
        ]
        versus = [
            Series("หน่วยงานนี้", [row.overall for row in rows]),
            Series("กลุ่มเดียวกัน", [row.peer for row in rows]),
            Series("จังหวัด", [row.province for row in rows]),
            Series("ประเทศ", [row.national for row in rows]),
        ]
        width = max(640, 110 * len(rows))
        charts["own"] = _first_series_labelled(line_chart(
            labels, own, title="คะแนนรวมและรายเครื่องมือ", width=width, height=320,
            lowest=_lowest(own), digits="arabic",
        ), len(own))
        charts["versus"] = _first_series_labelled(line_chart(
            labels, versus, title="คะแนนรวมเทียบค่าเฉลี่ย", width=width, height=320,
            lowest=_lowest(versus), digits="arabic",
        ), len(versus))
        for row in rows:
            row.tool_list = [(code, row.tools.get(code)) for code in tool_codes]
    else:
        tool_codes = []
    return render(
        request,
        "compare/trend.html",
        {"agency": agency, "rows": rows, "charts": charts, "tool_codes": tool_codes,
         "latest": rows[-1].year if rows else None},
    )


def _lowest(series):
    """The chart's floor: 50 unless a score falls below it, then the ten below the lowest score."""
    values = [v for s in series for v in s.values if v is not None]
    low = min(values, default=Decimal(50))
    return min(Decimal(50), Decimal(int(low // 10) * 10))


def _first_series_labelled(svg, count):
    """Keep the value labels of the first line only: close lines (tools near 100, averages within a
    point of each other) would print their labels on top of one another. The table gives every value."""
    for colour in PALETTE[1:count]:
        svg = re.sub(rf'<text [^>]*fill="{re.escape(colour)}">[^<]*</text>', "", svg)
    return svg
