from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments import compare_views, comparison
from assessments.models import Agency, Assessment, FiscalYear, Membership
from plans.models import Plan
from tests.conftest import make_assessment

YEAR = 2567
KORAT = "นครราชสีมา"


def figures(default, **indicators):
    """Official indicator scores 1–10: `default` everywhere, `i1="95.50"` for indicator 1."""
    values = {(str(n), ""): default for n in range(1, 11)}
    for key, value in indicators.items():
        values[(key.lstrip("i"), "")] = value
    return values


def agency(code, agency_type=Agency.Type.SAO, province=KORAT):
    return Agency.objects.create(code=code, name=f"หน่วยงาน {code}", agency_type=agency_type, province=province)


@pytest.fixture
def national(agency_a, agency_b):
    """Four agencies, FY2567, indicator scores only (tools and overall computed):
    A001 SAO Korat: 1 = 95.50, others 90 → IIT 91.10, overall 90.33
    A002 SAO Korat: 1 = 80.25, others 85 → IIT 84.05, overall 84.715
    A003 tambon Korat: 1 = 99.00, others 70 → IIT 75.80, overall 71.74
    B001 tambon Phang Nga: all 100 → overall 100."""
    a2 = agency("A002")
    a3 = agency("A003", Agency.Type.SUBDISTRICT_MUNICIPALITY)
    return {
        "a1": make_assessment(agency_a, YEAR, figures("90.00", i1="95.50")),
        "a2": make_assessment(a2, YEAR, figures("85.00", i1="80.25")),
        "a3": make_assessment(a3, YEAR, figures("70.00", i1="99.00")),
        "b": make_assessment(agency_b, YEAR, figures("100.00")),
    }


@pytest.fixture
def provincial(db, django_user_model):
    user = django_user_model.objects.create_user("korat", password="pw")
    Membership.objects.create(user=user, role=Membership.Role.PROVINCIAL, province=KORAT)
    return user


def compare_url(assessment):
    return reverse("assessments:compare_agency", args=[assessment.agency.code, assessment.fiscal_year.year])


def agency_page(client, user, assessment):
    client.force_login(user)
    return client.get(compare_url(assessment))


def by_code(rows):
    return {row.code: row for row in rows}


def r2(value):
    return comparison.scoring.round2(value)


def test_it_averages_indicator_scores_over_peer_group_province_and_nation(client, owner, national):
    indicators = by_code(agency_page(client, owner, national["a1"]).context["indicators"])
    first = indicators["1"]
    assert first.value == Decimal("95.50")
    assert r2(first.peer) == Decimal("87.88")  # (95.50 + 80.25) / 2 = 87.875
    assert r2(first.province) == Decimal("91.58")  # (95.50 + 80.25 + 99.00) / 3
    assert r2(first.national) == Decimal("93.69")  # (95.50 + 80.25 + 99.00 + 100) / 4 = 93.6875
    second = indicators["2"]
    assert (r2(second.peer), r2(second.province), r2(second.national)) == (
        Decimal("87.50"), Decimal("81.67"), Decimal("86.25"),
    )


def test_it_averages_the_overall_score_from_assessments(client, owner, national):
    overall = agency_page(client, owner, national["a1"]).context["overall"]
    assert r2(overall.value) == Decimal("90.33")
    assert r2(overall.peer) == Decimal("87.52")  # (90.33 + 84.715) / 2 = 87.5225
    assert r2(overall.province) == Decimal("82.26")  # (90.33 + 84.715 + 71.74) / 3
    assert r2(overall.national) == Decimal("86.70")  # (… + 100) / 4 = 86.69625


def test_it_averages_tools_as_the_mean_of_their_indicator_averages(client, owner, national):
    tools = by_code(agency_page(client, owner, national["a1"]).context["tools"])
    assert r2(tools["IIT"].value) == Decimal("91.10")
    assert r2(tools["IIT"].peer) == Decimal("87.58")  # (91.10 + 84.05) / 2 = 87.575
    assert r2(tools["OIT"].national) == Decimal("86.25")  # (90 + 85 + 70 + 100) / 4


def test_it_ranks_within_the_peer_group_and_nationally(client, owner, national):
    response = agency_page(client, owner, national["a1"])
    indicators = by_code(response.context["indicators"])
    assert (indicators["1"].peer_rank, indicators["1"].peer_count) == (1, 2)
    assert (indicators["1"].national_rank, indicators["1"].national_count) == (3, 4)  # behind 99.00 and 100
    assert (indicators["2"].national_rank, indicators["2"].national_count) == (2, 4)
    overall = response.context["overall"]
    assert (overall.peer_rank, overall.national_rank, overall.national_count) == (1, 2, 4)


def test_it_gives_tied_scores_the_same_rank(client, owner, national):
    tied = make_assessment(agency("A004"), YEAR, figures("90.00", i1="95.50"))
    indicators = by_code(agency_page(client, owner, national["a1"]).context["indicators"])
    assert indicators["1"].peer_rank == 1
    assert indicators["1"].peer_count == 3
    assert tied.overall == national["a1"].overall


def test_it_shows_the_agency_page_to_the_agencys_own_staff(client, owner, national):
    response = agency_page(client, owner, national["a1"])
    assert response.status_code == 200
    assert "องค์การบริหารส่วนตำบลพลสงคราม" in response.content.decode()


def test_it_refuses_the_agency_page_to_an_outsider(client, outsider, national):
    assert agency_page(client, outsider, national["a1"]).status_code == 404


def test_it_refuses_the_trend_page_to_an_outsider(client, outsider, national):
    client.force_login(outsider)
    response = client.get(reverse("assessments:compare_trend", args=["A001"]))
    assert response.status_code == 404


def test_it_never_lists_other_agencies_scores_on_the_agency_page(client, owner, national):
    html = agency_page(client, owner, national["a1"]).content.decode()
    assert "A002" not in html
    assert "84.72" not in html  # A002's overall


def test_it_404s_for_a_year_without_an_assessment(client, owner, national):
    client.force_login(owner)
    response = client.get(reverse("assessments:compare_agency", args=["A001", 2566]))
    assert response.status_code == 404


def test_it_sends_anonymous_users_to_the_login_page(client, national):
    for url in (
        reverse("assessments:compare"),
        compare_url(national["a1"]),
        reverse("assessments:compare_trend", args=["A001"]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def table(client, user, **params):
    client.force_login(user)
    return client.get(reverse("assessments:compare"), {"year": YEAR, **params})


def test_it_lists_only_the_provincial_officers_province(client, provincial, national):
    response = table(client, provincial, province=KORAT)
    codes = [a.code for a in response.context["agencies"]]
    assert sorted(codes) == ["A001", "A002", "A003"]
    assert response.context["provinces"] == [KORAT]


def test_it_404s_when_a_provincial_officer_chooses_another_province(client, provincial, national):
    assert table(client, provincial, province="พังงา").status_code == 404


def test_it_lists_only_the_agency_users_own_agency(client, owner, national):
    response = table(client, owner, province=KORAT)
    assert [a.code for a in response.context["agencies"]] == ["A001"]
    assert "A002" not in response.content.decode()


def test_it_defaults_to_the_users_province_and_latest_year(client, provincial, national):
    client.force_login(provincial)
    response = client.get(reverse("assessments:compare"))
    assert response.context["province"] == KORAT
    assert response.context["fiscal_year"].year == YEAR


def test_it_lets_a_superuser_choose_any_province(client, admin_user, national):
    response = table(client, admin_user, province="พังงา")
    assert [a.code for a in response.context["agencies"]] == ["B001"]
    assert set(response.context["provinces"]) == {KORAT, "พังงา"}


def test_it_shows_overall_level_tools_and_urgent_count_in_the_table(client, provincial, national):
    rows = by_code(table(client, provincial, province=KORAT).context["agencies"])
    a3 = rows["A003"]
    assert r2(a3.overall) == Decimal("71.74")
    assert a3.level == national["a3"].level == "ต้องปรับปรุง"
    assert (r2(a3.IIT), r2(a3.EIT), r2(a3.OIT)) == (Decimal("75.80"), Decimal("70.00"), Decimal("70.00"))
    assert a3.urgent == 9


def test_it_prefers_the_published_tool_score_over_the_mean_of_indicators(client, provincial, agency_a):
    make_assessment(agency_a, YEAR, {**figures("90.00"), ("IIT", ""): "88.88"})
    a1 = by_code(table(client, provincial, province=KORAT).context["agencies"])["A001"]
    assert (a1.IIT, r2(a1.EIT)) == (Decimal("88.88"), Decimal("90.00"))


def test_it_sorts_by_any_column_in_the_database(client, provincial, national):
    ascending = table(client, provincial, province=KORAT, sort="IIT").context["agencies"]
    assert [a.code for a in ascending] == ["A003", "A002", "A001"]
    by_overall = table(client, provincial, province=KORAT, sort="-overall").context["agencies"]
    assert [a.code for a in by_overall] == ["A001", "A002", "A003"]
    by_name = table(client, provincial, province=KORAT, sort="-name").context["agencies"]
    assert [a.code for a in by_name] == ["A001", "A003", "A002"]  # องค์การ… after หน่วยงาน…


def test_it_sorts_levels_by_their_rank_not_their_name(client, provincial, national):
    rows = table(client, provincial, province=KORAT, sort="-level").context["agencies"]
    assert [a.level for a in rows] == ["ผ่านดี", "ต้องปรับปรุง", "ต้องปรับปรุง"]


def test_it_ignores_an_unknown_sort_key(client, provincial, national):
    response = table(client, provincial, province=KORAT, sort="password")
    assert [a.code for a in response.context["agencies"]] == ["A001", "A002", "A003"]


def test_it_lists_agencies_without_a_result_last(client, provincial, national):
    agency("A009")
    rows = table(client, provincial, province=KORAT, sort="overall").context["agencies"]
    assert [a.code for a in rows][-1] == "A009"


def test_it_paginates_the_table(client, provincial, national, monkeypatch):
    monkeypatch.setattr(compare_views, "PAGE_SIZE", 2)
    second = table(client, provincial, province=KORAT, page=2)
    assert [a.code for a in second.context["agencies"]] == ["A003"]
    assert second.context["page"].paginator.num_pages == 2


def test_it_shows_the_latest_plan_status_for_the_next_year(client, provincial, national):
    a1 = national["a1"]
    Plan.objects.create(agency=a1.agency, assessment=a1, target_year=YEAR + 1, title="แผน")
    rows = by_code(table(client, provincial, province=KORAT).context["agencies"])
    assert rows["A001"].plan_label == "ร่าง"
    assert rows["A002"].plan_label == ""


def test_it_shows_the_trend_over_all_years_with_a_chart(client, owner, agency_a, national):
    make_assessment(agency_a, 2566, figures("80.00"))
    client.force_login(owner)
    response = client.get(reverse("assessments:compare_trend", args=["A001"]))
    rows = response.context["rows"]
    assert [r.year for r in rows] == [2566, 2567]
    assert r2(rows[0].overall) == Decimal("80.00")
    assert r2(rows[1].tools["IIT"]) == Decimal("91.10")
    assert rows[1].change == Decimal("10.33")
    assert r2(rows[1].national) == Decimal("86.70")
    assert "<svg" in response.content.decode()


def _grow(count):
    """`count` more agencies in Korat, half of them in A001's peer group."""
    for n in range(count):
        agency_type = Agency.Type.SAO if n % 2 else Agency.Type.SUBDISTRICT_MUNICIPALITY
        make_assessment(agency(f"X{n:03d}", agency_type), YEAR, figures(f"{70 + n}.00"))


def _queries(client, url, params=None):
    # The first view after a score change computes the stored averages (AggregateScore) it reads.
    client.get(url, params or {})
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params or {})
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["table", "table by plan", "table by level", "table by overall", "agency", "trend"])
def test_it_runs_a_bounded_number_of_queries_whatever_the_number_of_agencies(client, admin_user, national, page):
    client.force_login(admin_user)
    make_assessment(national["a1"].agency, 2566, figures("80.00"))
    Plan.objects.create(agency=national["a1"].agency, assessment=national["a1"], target_year=YEAR + 1, title="แผน")
    url, params = {
        "table": (reverse("assessments:compare"), {"province": KORAT, "year": YEAR, "sort": "-IIT"}),
        "table by plan": (reverse("assessments:compare"), {"province": KORAT, "year": YEAR, "sort": "plan"}),
        "table by level": (reverse("assessments:compare"), {"province": KORAT, "year": YEAR, "sort": "-level"}),
        "table by overall": (reverse("assessments:compare"), {"province": KORAT, "year": YEAR}),
        "agency": (compare_url(national["a1"]), None),
        "trend": (reverse("assessments:compare_trend", args=["A001"]), None),
    }[page]
    small = _queries(client, url, params)
    _grow(12)
    assert Assessment.objects.filter(fiscal_year=FiscalYear.objects.get(year=YEAR)).count() == 16
    assert _queries(client, url, params) == small
    assert small <= 14


def test_it_sorts_agency_types_in_their_usual_order(client, provincial, national):
    rows = table(client, provincial, province=KORAT, sort="type").context["agencies"]
    assert [a.agency_type for a in rows] == ["sao", "sao", "tambon"]


def test_it_shows_each_rows_tool_scores_and_plan_whatever_the_sort(client, provincial, national):
    a1 = national["a1"]
    Plan.objects.create(agency=a1.agency, assessment=a1, target_year=YEAR + 1, title="แผน")
    for sort in ["-overall", "IIT", "-EIT", "plan", "level", "name"]:
        response = table(client, provincial, province=KORAT, sort=sort)
        rows = by_code(response.context["agencies"])
        assert (r2(rows["A003"].IIT), r2(rows["A003"].EIT), r2(rows["A003"].OIT)) == (
            Decimal("75.80"), Decimal("70.00"), Decimal("70.00")), sort
        assert rows["A001"].plan_label == "ร่าง" and rows["A002"].plan_id is None, sort
        html = response.content.decode()
        assert '<td class="num" data-label="IIT">75.80</td>' in html, sort
        assert f'href="{reverse("plans:detail", args=[rows["A001"].plan_id])}" class="status status-draft">ร่าง</a>' in html
