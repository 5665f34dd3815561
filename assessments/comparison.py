"""Comparisons across agencies: the province table, one agency against its peers, an agency's trend.

Query functions only; the views decide who may see what. Individual agencies are listed only
from the queryset the caller passes (agencies_for(user)); averages and ranks are aggregates over
every agency of the year, which are not private data.

Every page costs a fixed number of queries whatever the number of agencies. Averages and counts of
the nation, the province and the peer group are read from AggregateScore (computed once per import
or score edit by services.aggregates_refresh); a rank is 1 + the number of higher scores, counted
by the database over the indicator Score rows and Assessment.overall."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from assessments import scoring
from assessments.models import Agency, AggregateScore, Assessment, FrameworkItem, LevelRule, Score

# Averages keep 6 decimals from the database (SQLite averages in floating point); pages round half-up.
AVERAGE = DecimalField(max_digits=12, decimal_places=6)
SCORE = DecimalField(max_digits=7, decimal_places=4)


LEADING_VOWELS = "เแโใไ"


def thai_sort_key(text):
    """Dictionary order for Thai names: a leading vowel (เ แ โ ใ ไ) is written before its consonant
    but sorts after it (เชียงใหม่ files under ช)."""
    if len(text) > 1 and text[0] in LEADING_VOWELS:
        return text[1] + text[0] + text[2:]
    return text


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    item_id: int
    tool: str


@dataclass(frozen=True)
class Tool:
    code: str
    name: str
    item_id: int
    weight: Decimal | None
    indicators: tuple  # item ids of its indicators


@dataclass
class YearFrame:
    """The overall, tools and indicators of one fiscal year's framework, with their item ids."""

    fiscal_year: object
    tools: list = field(default_factory=list)
    indicators: list = field(default_factory=list)

    @property
    def indicator_ids(self):
        return [i.item_id for i in self.indicators]

    def tool(self, code):
        return next(t for t in self.tools if t.code == code)


def year_frame(fiscal_year):
    """One query: the tools and indicators of the year, in framework order."""
    rows = list(
        FrameworkItem.objects.filter(fiscal_year=fiscal_year, kind__in=[scoring.TOOL, scoring.INDICATOR])
        .order_by("order")
        .values("pk", "code", "kind", "name", "weight", "parent__code")
    )
    frame = YearFrame(fiscal_year=fiscal_year)
    frame.indicators = [
        Indicator(r["code"], r["name"], r["pk"], r["parent__code"]) for r in rows if r["kind"] == scoring.INDICATOR
    ]
    frame.tools = [
        Tool(r["code"], r["name"], r["pk"], r["weight"], tuple(i.item_id for i in frame.indicators if i.tool == r["code"]))
        for r in rows
        if r["kind"] == scoring.TOOL
    ]
    return frame


def tool_score(tool, assessment_ref):
    """A tool's score for the assessment at `assessment_ref` (an OuterRef): the official figure when
    published, else the mean of its indicators when every indicator has a score (the tool rule)."""
    official = Score.objects.filter(assessment_id=assessment_ref, item_id=tool.item_id, part="").values("value")[:1]
    computed = (
        Score.objects.filter(assessment_id=assessment_ref, item_id__in=tool.indicators, part="")
        .values("assessment_id")
        .annotate(n=Count("pk"), mean=Avg("value", output_field=AVERAGE))
        .annotate(score=Case(When(n=len(tool.indicators), then=F("mean")), default=None, output_field=AVERAGE))
        .values("score")
    )
    return Coalesce(Subquery(official, output_field=AVERAGE), Subquery(computed, output_field=AVERAGE))


# The province table's sortable columns: ?sort=<key> ascending, ?sort=-<key> descending.
SORT_KEYS = ("name", "type", "overall", "level", "IIT", "EIT", "OIT", "urgent", "plan")
PLAN_ORDER = {"draft": 1, "changes_requested": 2, "submitted": 3, "approved": 4, "signed": 5}


def province_table(agencies, province, frame, sort="-overall"):
    """Agencies of `province` among `agencies` with their result for the frame's year: overall,
    level and urgent indicator count. Sorted in the database; agencies without a result come last.

    The columns that need a subquery (a tool score, the next year's plan, the level's rank) are
    computed in the database only to sort by them: building and compiling all of them cost about
    8 ms of Python per page. The rows of the page shown get their tool scores and plans from
    complete_rows (two small queries)."""
    from plans.models import Plan

    fiscal_year = frame.fiscal_year
    key = sort.lstrip("-")
    rows = agencies.filter(province=province).annotate(
        result=FilteredRelation("assessments", condition=Q(assessments__fiscal_year=fiscal_year)),
        assessment_id=F("result__id"),
        overall=F("result__overall"),
        level=F("result__level"),
        urgent=F("result__urgent_indicator_count"),
    )
    if key == "level":
        rules = list(LevelRule.objects.filter(fiscal_year=fiscal_year).values_list("name", "rank"))
        rows = rows.annotate(
            level_rank=Case(
                *[When(result__level=name, then=Value(rank)) for name, rank in rules],
                default=None,
                output_field=IntegerField(),
            )
        )
    elif key == "plan":
        plan = Plan.objects.filter(agency=OuterRef("pk"), target_year=fiscal_year.year + 1).order_by("-revision")
        rows = rows.annotate(plan_status=Subquery(plan.values("status")[:1]))
    elif key in {tool.code for tool in frame.tools}:
        rows = rows.annotate(**{key: tool_score(frame.tool(key), OuterRef("assessment_id"))})
    return rows.order_by(*_ordering(sort, frame))


def complete_rows(rows, frame):
    """Set on each row of one page of province_table its tool scores (attributes named by the
    tool codes: the official figure, else the mean of the tool's indicators when every one has
    a score, as tool_score computes it in the database) and the latest plan for the next year
    (plan_id, plan_status; None without one). Two queries, whatever the page's length."""
    from plans.models import Plan

    items = {tool.item_id for tool in frame.tools} | {i for tool in frame.tools for i in tool.indicators}
    scores = {}
    for assessment_id, item_id, value in Score.objects.filter(
        assessment_id__in=[row.assessment_id for row in rows if row.assessment_id], item_id__in=items, part=""
    ).values_list("assessment_id", "item_id", "value"):
        scores.setdefault(assessment_id, {})[item_id] = value
    plans = {}
    for agency_id, plan_id, status in (
        Plan.objects.filter(agency_id__in=[row.pk for row in rows], target_year=frame.fiscal_year.year + 1)
        .order_by("agency_id", "-revision")
        .values_list("agency_id", "pk", "status")
    ):
        plans.setdefault(agency_id, (plan_id, status))
    for row in rows:
        own = scores.get(row.assessment_id, {})
        for tool in frame.tools:
            value = own.get(tool.item_id)
            if value is None and tool.indicators and all(i in own for i in tool.indicators):
                value = sum(own[i] for i in tool.indicators) / len(tool.indicators)
            setattr(row, tool.code, value)
        row.plan_id, row.plan_status = plans.get(row.pk, (None, None))
    return rows


def _ordering(sort, frame):
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    tools = {t.code for t in frame.tools}
    if key not in SORT_KEYS and key not in tools:
        key, descending = "overall", True
    if key == "name":
        return [F("name").desc() if descending else F("name").asc(), "code"]
    if key == "type":  # in the order of Agency.Type: อบต., เทศบาลตำบล, เมือง, นคร, อบจ., others
        expr = Case(*[When(agency_type=t, then=Value(i)) for i, t in enumerate(Agency.Type.values)], default=Value(99))
    elif key == "level":
        expr = F("level_rank")
    elif key == "urgent":
        expr = F("urgent")
    elif key == "plan":
        expr = Case(*[When(plan_status=s, then=Value(n)) for s, n in PLAN_ORDER.items()], default=Value(0))
    else:
        expr = F(key)
    primary = expr.desc(nulls_last=True) if descending else expr.asc(nulls_last=True)
    return [primary, "name", "code"]


def normalise_sort(sort, frame):
    key = (sort or "").lstrip("-")
    if key in SORT_KEYS or key in {t.code for t in frame.tools}:
        return sort
    return "-overall"


@dataclass
class Comparison:
    """One figure of an agency next to its peer group, its province and the nation."""

    code: str
    label: str
    value: Decimal | None
    peer: Decimal | None = None
    province: Decimal | None = None
    national: Decimal | None = None
    province_count: int = 0
    peer_rank: int | None = None
    peer_count: int = 0
    national_rank: int | None = None
    national_count: int = 0
    kind: str = scoring.INDICATOR

    @property
    def triage(self):
        return scoring.triage_of(self.value)

    @property
    def versus_peer(self):
        if self.value is None or self.peer is None:
            return None
        return scoring.round2(self.value) - scoring.round2(self.peer)

    @property
    def versus_national(self):
        if self.value is None or self.national is None:
            return None
        return scoring.round2(self.value) - scoring.round2(self.national)


def group_aggregates(fiscal_years, province, agency_type):
    """The stored averages of the nation, `province` and the peer group (`province` and
    `agency_type`) for each of `fiscal_years`: {(fiscal_year_id, scope, item key): AggregateScore},
    the item key being "overall" or an indicator's item id. One query; a year or province whose
    rows were dropped by a score change (or never computed) is computed here first."""
    from assessments.services import aggregates_refresh

    def fetch():
        return list(
            AggregateScore.objects.filter(
                fiscal_year__in=fiscal_years, province__in=["", province], agency_type__in=["", agency_type]
            ).annotate(kind=F("item__kind"))
        )

    rows = fetch()
    present = {(row.fiscal_year_id, row.scope) for row in rows}
    missing = [
        fy for fy in fiscal_years
        if (fy.pk, AggregateScore.Scope.NATIONAL) not in present or (fy.pk, AggregateScore.Scope.PROVINCE) not in present
    ]
    if missing:
        for fiscal_year in missing:
            aggregates_refresh(fiscal_year=fiscal_year, province=province)
        rows = fetch()
    return {
        (row.fiscal_year_id, row.scope, "overall" if row.kind == scoring.OVERALL else row.item_id): row for row in rows
    }


def _figures(stats, fiscal_year_id, key):
    """mean and count of the nation, the province and the peer group for one figure."""
    result = {}
    for scope, name in (
        (AggregateScore.Scope.NATIONAL, "national"),
        (AggregateScore.Scope.PROVINCE, "province"),
        (AggregateScore.Scope.PEER, "peer"),
    ):
        row = stats.get((fiscal_year_id, scope, key))
        result[name] = row.mean if row is not None else None
        result[f"{name}_count"] = row.count if row is not None else 0
    return result


def _count_scores(values, op, peer_of=None):
    """Per indicator item: how many official scores (part "") are `op` (">" or "<=") the agency's
    own (`values`: item id → Decimal), nationally (an item belongs to one year), or with `peer_of`
    (an agency and its fiscal year id) in the agency's peer group that year.

    One query, in SQL written here: built through the ORM, the ten-way OR of (item, value)
    conditions cost about 1.5 ms of Python per query, more than counting them in the database."""
    assert op in (">", "<=")
    pairs = [(item_id, value) for item_id, value in values.items() if value is not None]
    if not pairs:
        return {}
    q = connection.ops.quote_name
    conditions = " OR ".join(f"(s.{q('item_id')} = %s AND s.{q('value')} {op} %s)" for _ in pairs)
    params = [p for pair in pairs for p in pair]
    sql = f"SELECT s.{q('item_id')}, COUNT(*) FROM {q(Score._meta.db_table)} s"
    where = [f"s.{q('part')} = %s"]
    head = [""]
    if peer_of is not None:
        agency, fiscal_year_id = peer_of
        sql += (f" JOIN {q(Assessment._meta.db_table)} a ON a.{q('id')} = s.{q('assessment_id')}"
                f" JOIN {q(Agency._meta.db_table)} g ON g.{q('id')} = a.{q('agency_id')}")
        where += [f"a.{q('fiscal_year_id')} = %s", f"g.{q('province')} = %s", f"g.{q('agency_type')} = %s"]
        head += [fiscal_year_id, agency.province, agency.agency_type]
    sql += f" WHERE {' AND '.join(where)} AND ({conditions}) GROUP BY s.{q('item_id')}"
    with connection.cursor() as cursor:
        cursor.execute(sql, head + params)
        return dict(cursor.fetchall())


def _national_higher(own, stats, fiscal_year_id):
    """Per indicator item: how many of the year's official scores are above the agency's own.

    Counted on the score index (item, value), on the shorter side of the agency's score: the
    scores above it when it is at or above the national mean, else those at or below it, taken
    from the stored count of the item's scores (at 8,317 agencies a count of every higher score
    cost about 30 ms of PostgreSQL per page; most agencies sit near the top)."""
    above, below = {}, {}
    for item_id, value in own.items():
        if value is None:
            continue
        row = stats.get((fiscal_year_id, AggregateScore.Scope.NATIONAL, item_id))
        if row is None or row.mean is None or value >= row.mean:
            above[item_id] = value
        else:
            below[item_id] = value
    higher = {}
    if above:
        higher.update(_count_scores(above, ">"))
    if below:
        at_or_below = _count_scores(below, "<=")
        for item_id in below:
            total = stats[(fiscal_year_id, AggregateScore.Scope.NATIONAL, item_id)].count
            higher[item_id] = max(0, total - at_or_below.get(item_id, 0))
    return higher


def indicator_comparisons(agency, frame, values, stats=None, published=None):
    """Per indicator: the agency's score (`values`: code → Decimal), the averages of its peer group
    (same type, same province), its province and the nation (stored, see group_aggregates), and its
    rank (1 + number of higher scores) in the peer group and nationally.

    A few small queries: the stored averages, the higher scores of the nation (_national_higher),
    those of the peer group (starting from its assessments, a few hundred), and which indicators
    the agency has a Score row for. `stats` (group_aggregates of the year) and
    `published` (codes of the agency's official figures) save their query when the caller has them."""
    fiscal_year = frame.fiscal_year
    own = {i.item_id: values.get(i.code) for i in frame.indicators}
    if stats is None:
        stats = group_aggregates([fiscal_year], agency.province, agency.agency_type)
    national_higher = _national_higher(own, stats, fiscal_year.pk)
    peer_higher = _count_scores(own, ">", peer_of=(agency, fiscal_year.pk))
    if published is not None:
        own_rows = {i.item_id for i in frame.indicators if i.code in published}
    else:
        own_rows = set(
            Score.objects.filter(
                assessment__agency=agency, assessment__fiscal_year=fiscal_year, item_id__in=frame.indicator_ids, part=""
            ).values_list("item_id", flat=True)
        )
    result = []
    for indicator in frame.indicators:
        figures = _figures(stats, fiscal_year.pk, indicator.item_id)
        value = own[indicator.item_id]
        # An agency whose indicator is computed (no Score row of its own) still counts in its rank.
        extra = 0 if indicator.item_id in own_rows or value is None else 1
        result.append(
            Comparison(
                code=indicator.code,
                label=f"ตัวชี้วัดที่ {indicator.code} {indicator.name}",
                value=value,
                peer=figures["peer"],
                province=figures["province"],
                national=figures["national"],
                province_count=figures["province_count"],
                peer_rank=peer_higher.get(indicator.item_id, 0) + 1 if value is not None else None,
                peer_count=figures["peer_count"] + extra,
                national_rank=national_higher.get(indicator.item_id, 0) + 1 if value is not None else None,
                national_count=figures["national_count"] + extra,
            )
        )
    return result


def overall_comparison(assessment, stats=None):
    """The overall score against the peer group, the province and the nation (stored averages), with
    its ranks (one count over the year's higher Assessment.overall)."""
    agency = assessment.agency
    fiscal_year = assessment.fiscal_year
    if stats is None:
        stats = group_aggregates([fiscal_year], agency.province, agency.agency_type)
    figures = _figures(stats, fiscal_year.pk, "overall")
    value = assessment.overall
    ranked = value is not None
    higher = {"national": 0, "peer": 0}
    if ranked:
        peer = Q(agency__province=agency.province, agency__agency_type=agency.agency_type)
        higher = Assessment.objects.filter(fiscal_year=fiscal_year, overall__gt=value).aggregate(
            national=Count("pk"), peer=Count("pk", filter=peer)
        )
    return Comparison(
        code="overall",
        label="คะแนนรวม",
        value=value,
        peer=figures["peer"],
        province=figures["province"],
        national=figures["national"],
        province_count=figures["province_count"],
        peer_rank=higher["peer"] + 1 if ranked else None,
        peer_count=figures["peer_count"],
        national_rank=higher["national"] + 1 if ranked else None,
        national_count=figures["national_count"],
        kind=scoring.OVERALL,
    )


def tool_comparisons(frame, values, indicators):
    """Per tool: the agency's score and the mean of its indicators' group averages (a tool is the mean
    of its indicators, so this is the group's average tool score wherever every indicator is scored)."""
    by_code = {c.code: c for c in indicators}
    item_code = {i.item_id: i.code for i in frame.indicators}
    result = []
    for tool in frame.tools:
        rows = [by_code[item_code[item_id]] for item_id in tool.indicators]

        def mean_of(attr, rows=rows):
            parts = [getattr(r, attr) for r in rows]
            return scoring.mean(parts) if parts and all(p is not None for p in parts) else None

        result.append(
            Comparison(
                code=tool.code,
                label=f"{tool.code} {tool.name}",
                value=values.get(tool.code),
                peer=mean_of("peer"),
                province=mean_of("province"),
                national=mean_of("national"),
                kind=scoring.TOOL,
            )
        )
    return result


@dataclass
class TrendYear:
    year: int
    assessment: object
    overall: Decimal | None
    tools: dict  # tool code → score
    level: str
    urgent: int
    change: Decimal | None = None  # overall against the previous year on record (2 decimals)
    peer: Decimal | None = None
    province: Decimal | None = None
    national: Decimal | None = None


def agency_trend(agency):
    """The agency's results over every year on record, oldest first: overall, level, tool scores
    (official, else computed from the stored parts) and the average overall score of its peer group,
    its province and the nation that year. Four queries, whatever the number of years or agencies."""
    assessments = list(agency.assessments.select_related("fiscal_year").order_by("fiscal_year__year"))
    if not assessments:
        return []
    nodes = {}
    # Plain rows, as framework_nodes reads them: six years of items as model instances (with
    # their parents) cost more than the rest of the page.
    for fiscal_year_id, code, kind, name, parent, order, weight, counts_for_level, has_parts in (
        FrameworkItem.objects.filter(fiscal_year_id__in=[a.fiscal_year_id for a in assessments])
        .order_by("fiscal_year_id", "order")
        .values_list(
            "fiscal_year_id", "code", "kind", "name", "parent__code", "order", "weight", "counts_for_level", "has_parts"
        )
    ):
        nodes.setdefault(fiscal_year_id, []).append(
            scoring.Node(
                code=code, kind=kind, name=name, parent=parent, order=order, weight=weight,
                counts_for_level=counts_for_level, has_parts=has_parts,
            )
        )
    official = {}
    for assessment_id, code, part, value in Score.objects.filter(assessment__agency=agency).values_list(
        "assessment_id", "item__code", "part", "value"
    ):
        official.setdefault(assessment_id, {})[(code, part)] = value
    averages = year_averages(agency, [a.fiscal_year for a in assessments])
    rows, previous = [], None
    for assessment in assessments:
        result = scoring.compute(nodes.get(assessment.fiscal_year_id, []), official.get(assessment.pk, {}))
        year = assessment.fiscal_year.year
        stats = averages.get(year, {})
        row = TrendYear(
            year=year,
            assessment=assessment,
            overall=assessment.overall,
            tools={f.node.code: f.value for f in result.of_kind(scoring.TOOL)},
            level=assessment.level,
            urgent=assessment.urgent_indicator_count,
            peer=stats.get("peer"),
            province=stats.get("province"),
            national=stats.get("national"),
        )
        if previous is not None and previous.overall is not None and row.overall is not None:
            row.change = scoring.round2(row.overall) - scoring.round2(previous.overall)
        rows.append(row)
        previous = row
    return rows


def year_averages(agency, fiscal_years):
    """Per fiscal year: average overall score of the agency's peer group, province and the nation
    (stored, see group_aggregates)."""
    stats = group_aggregates(fiscal_years, agency.province, agency.agency_type)
    return {fy.year: _figures(stats, fy.pk, "overall") for fy in fiscal_years}
