"""The stored national, provincial and peer-group averages (AggregateScore): the same figures as
computed over every score of the year, refreshed after an import and after a score edit, and what
the comparison pages and the analysis report show."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Avg, Count, DecimalField, Q
from django.urls import reverse

from assessments import comparison
from assessments.models import Agency, AggregateScore, Assessment, FiscalYear, FrameworkItem, Score
from assessments.services import aggregates_refresh, assessment_refresh
from tests.assessments.test_admin_import import HEADER, confirm, upload
from tests.conftest import make_assessment

KORAT, PHANG_NGA = "นครราชสีมา", "พังงา"
AVERAGE = DecimalField(max_digits=12, decimal_places=6)
SIX = Decimal("0.000001")
Scope = AggregateScore.Scope


def indicators(default, **changed):
    values = {(str(n), ""): default for n in range(1, 11)}
    values.update({(code.lstrip("i"), ""): value for code, value in changed.items()})
    return values


def agency(code, agency_type, province):
    return Agency.objects.create(code=code, name=f"หน่วยงาน {code}", agency_type=agency_type, province=province)


@pytest.fixture
def year(seed_assessment, other_assessment):
    """FY2568 in two provinces: A001 (seed 000) and A002 are Korat SAOs, A003 a Korat tambon
    municipality; B001 (all 80) a Phang Nga tambon municipality, B002 a Phang Nga SAO."""
    make_assessment(agency("A002", Agency.Type.SAO, KORAT), 2568, indicators("90.00", i1="70.00"))
    make_assessment(agency("A003", Agency.Type.SUBDISTRICT_MUNICIPALITY, KORAT), 2568, indicators("100.00"))
    make_assessment(agency("B002", Agency.Type.SAO, PHANG_NGA), 2568, indicators("85.00"))
    fiscal_year = FiscalYear.objects.get(year=2568)
    aggregates_refresh(fiscal_year=fiscal_year)
    return fiscal_year


def stored(fiscal_year, scope, code, province="", agency_type=""):
    return AggregateScore.objects.get(
        fiscal_year=fiscal_year, scope=scope, item__code=code, province=province, agency_type=agency_type
    )


def old_way(fiscal_year, code, **where):
    """The figure as the pages computed it before: an average over every row of the year."""
    if code == "overall":
        rows = Assessment.objects.filter(fiscal_year=fiscal_year, overall__isnull=False, **where)
        return rows.aggregate(mean=Avg("overall", output_field=AVERAGE), count=Count("pk"))
    where = {f"assessment__{key}": value for key, value in where.items()}
    rows = Score.objects.filter(item__fiscal_year=fiscal_year, item__code=code, part="", **where)
    return rows.aggregate(
        mean=Avg("value", output_field=AVERAGE), count=Count("pk"), passed=Count("pk", filter=Q(value__gte=85))
    )


def test_it_stores_the_same_averages_as_computed_over_every_score(year):
    groups = [
        (Scope.NATIONAL, "", "", {}),
        (Scope.PROVINCE, KORAT, "", {"agency__province": KORAT}),
        (Scope.PROVINCE, PHANG_NGA, "", {"agency__province": PHANG_NGA}),
        (Scope.PEER, KORAT, Agency.Type.SAO, {"agency__province": KORAT, "agency__agency_type": Agency.Type.SAO}),
        (Scope.PEER, PHANG_NGA, Agency.Type.SUBDISTRICT_MUNICIPALITY,
         {"agency__province": PHANG_NGA, "agency__agency_type": Agency.Type.SUBDISTRICT_MUNICIPALITY}),
    ]
    for scope, province, agency_type, where in groups:
        for code in ["overall", *map(str, range(1, 11))]:
            row = stored(year, scope, code, province, agency_type)
            expected = old_way(year, code, **where)
            assert (row.mean.quantize(SIX), row.count) == (expected["mean"].quantize(SIX), expected["count"]), (
                scope, province, code,
            )
            if code != "overall":
                assert row.pass_count == expected["passed"]


def test_it_stores_the_exact_figures_of_indicator_1_and_the_pass_count(year):
    national = stored(year, Scope.NATIONAL, "1")
    # 99.35 (seed 000), 80 (B001), 70 (A002), 100 (A003), 85 (B002)
    assert (national.total, national.count, national.pass_count) == (Decimal("434.35"), 5, 3)
    assert national.mean == Decimal("86.87")
    assert stored(year, Scope.PEER, "1", KORAT, Agency.Type.SAO).mean == Decimal("84.675")
    assert comparison.scoring.round2(stored(year, Scope.PROVINCE, "1", KORAT).mean) == Decimal("89.78")
    overall = stored(year, Scope.NATIONAL, "overall")
    assert overall.count == 5
    # Passing levels: seed 000 is ผ่านดี (92.27); A003 at 100 passes; B001 (80), B002 (85, every
    # indicator 85: ผ่านดี) and A002 decide the rest, as their stored levels say.
    assert overall.pass_count == Assessment.objects.filter(
        fiscal_year=year, level__in=["ผ่านดีเยี่ยม", "ผ่านดี", "ผ่าน"]
    ).count()


def test_it_recomputes_one_province_and_the_nation_as_the_full_refresh_does(year):
    full = sorted(AggregateScore.objects.filter(fiscal_year=year).values_list(
        "scope", "province", "agency_type", "item_id", "total", "count", "pass_count"
    ))
    aggregates_refresh(fiscal_year=year, province=KORAT)
    partial = sorted(AggregateScore.objects.filter(fiscal_year=year).values_list(
        "scope", "province", "agency_type", "item_id", "total", "count", "pass_count"
    ))
    assert partial == full


def test_it_drops_the_rows_a_score_change_makes_stale_and_the_next_page_recomputes_them(
    client, owner, year, seed_assessment
):
    Score.objects.filter(assessment=seed_assessment, item__code="1").update(value=Decimal("50.00"))
    assessment_refresh(assessment=seed_assessment)
    assert not AggregateScore.objects.filter(fiscal_year=year, scope=Scope.NATIONAL).exists()
    assert not AggregateScore.objects.filter(fiscal_year=year, province=KORAT).exists()
    assert AggregateScore.objects.filter(fiscal_year=year, province=PHANG_NGA).exists()

    client.force_login(owner)
    response = client.get(reverse("assessments:compare_agency", args=["A001", 2568]))

    first = next(c for c in response.context["indicators"] if c.code == "1")
    assert first.national == Decimal("77.00")  # (50 + 80 + 70 + 100 + 85) / 5
    assert stored(year, Scope.NATIONAL, "1").mean == Decimal("77.00")


def test_it_updates_the_table_after_a_score_is_saved_on_the_admin_page(client, owner, year, seed_assessment):
    url = reverse("admin:assessments_assessment_change", args=[seed_assessment.pk])
    client.force_login(owner)
    form = client.get(url).context["adminform"].form
    data = {"notes": "", "_save": "1", "version": form.initial.get("version", 0)}
    data.update({name: form.initial.get(name, "") for name in form.fields if name.startswith("score_")})
    data["score_1"] = "60.00"

    response = client.post(url, data)

    assert response.status_code == 302
    assert stored(year, Scope.NATIONAL, "1").mean == Decimal("79.00")  # (60 + 80 + 70 + 100 + 85) / 5
    assert stored(year, Scope.PEER, "1", KORAT, Agency.Type.SAO).mean == Decimal("65.00")
    assert stored(year, Scope.NATIONAL, "1").pass_count == 2
    assert stored(year, Scope.NATIONAL, "overall").total == sum(
        Assessment.objects.filter(fiscal_year=year).values_list("overall", flat=True)
    )


def test_it_updates_the_table_after_an_admin_import(client, owner, year):
    client.force_login(owner)
    preview = upload(client, HEADER + "A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2568,1,40.00\n")

    confirm(client, preview)

    assert Score.objects.get(assessment__agency__code="A001", item__code="1", part="").value == Decimal("40.00")
    assert stored(year, Scope.NATIONAL, "1").mean == Decimal("75.00")  # (40 + 80 + 70 + 100 + 85) / 5
    assert stored(year, Scope.PROVINCE, "1", KORAT).mean == Decimal("70.00")
    assert stored(year, Scope.NATIONAL, "overall").total == sum(
        Assessment.objects.filter(fiscal_year=year).values_list("overall", flat=True)
    )


def test_it_updates_the_table_after_the_import_command(year, tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(HEADER + "C001,เทศบาลเมืองตัวอย่าง,เทศบาลเมือง,ภูเก็ต,เมือง,2568,1,55.00\n", encoding="utf-8")

    call_command("import_scores", str(path))

    assert stored(year, Scope.NATIONAL, "1").count == 6
    assert stored(year, Scope.NATIONAL, "1").total == Decimal("489.35")
    assert stored(year, Scope.PROVINCE, "1", "ภูเก็ต").mean == Decimal("55.00")


def test_it_shows_the_stored_figures_and_the_ranks_on_the_agency_comparison_page(client, owner, year):
    client.force_login(owner)
    response = client.get(reverse("assessments:compare_agency", args=["A001", 2568]))
    assert response.status_code == 200
    rows = {c.code: c for c in response.context["indicators"]}
    first = rows["1"]
    assert (first.value, first.national, first.national_count, first.national_rank) == (
        Decimal("99.35"), Decimal("86.87"), 5, 2,  # below A003's 100
    )
    assert (first.peer, first.peer_count, first.peer_rank) == (Decimal("84.675"), 2, 1)
    assert (comparison.scoring.round2(first.province), first.province_count) == (Decimal("89.78"), 3)
    tenth = rows["10"]  # 85.00, below the national mean 88: ranked from the scores at or below it
    assert (tenth.value, tenth.national, tenth.national_rank, tenth.national_count) == (
        Decimal("85.00"), Decimal("88"), 3, 5,  # below 90 (A002) and 100 (A003), tied with B002
    )
    for code, row in rows.items():
        higher = Score.objects.filter(item__fiscal_year=year, item__code=code, part="", value__gt=row.value).count()
        assert row.national_rank == higher + 1, code
    overall = response.context["overall"]
    expected = old_way(year, "overall")
    assert overall.national == expected["mean"]
    assert overall.national_count == 5
    assert overall.national_rank == 1 + Assessment.objects.filter(
        fiscal_year=year, overall__gt=overall.value
    ).count()
    html = response.content.decode()
    assert "86.87" in html and "84.68" in html


def test_it_shows_the_yearly_averages_on_the_trend_page(client, owner, year):
    client.force_login(owner)
    response = client.get(reverse("assessments:compare_trend", args=["A001"]))
    row = response.context["rows"][-1]
    assert row.year == 2568
    assert row.national == old_way(year, "overall")["mean"]
    assert row.peer == old_way(year, "overall", agency__province=KORAT, agency__agency_type=Agency.Type.SAO)["mean"]


def test_it_gives_the_analysis_report_the_stored_province_and_national_averages(year, seed_assessment):
    from assessments.documents import analysis_context

    AggregateScore.objects.filter(fiscal_year=year).delete()  # never computed: the report computes them
    context = analysis_context(Assessment.objects.select_related("agency", "fiscal_year").get(pk=seed_assessment.pk))
    text = " ".join(str(section["generated"]) for section in context["sections"])
    assert "๘๖.๘๗" in text or "86.87" in text  # the national average of indicator 1
    assert AggregateScore.objects.filter(fiscal_year=year, scope=Scope.NATIONAL).count() == (
        FrameworkItem.objects.filter(fiscal_year=year, kind__in=["overall", "indicator"]).count()
    )


def test_it_computes_a_province_without_scores_once_not_on_every_page(year):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    lone = agency("T001", Agency.Type.SAO, "ตาก")
    Assessment.objects.create(agency=lone, fiscal_year=year)  # no score yet
    comparison.group_aggregates([year], "ตาก", Agency.Type.SAO)
    marker = stored(year, Scope.PROVINCE, "overall", "ตาก")
    assert (marker.count, marker.mean) == (0, None)

    with CaptureQueriesContext(connection) as captured:
        stats = comparison.group_aggregates([year], "ตาก", Agency.Type.SAO)

    assert len(captured.captured_queries) == 1
    assert stats[(year.pk, Scope.NATIONAL, "overall")].count == 5
