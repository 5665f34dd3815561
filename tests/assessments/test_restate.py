"""A year's level rules or framework changed in the admin: every stored summary of that year
(overall, level, urgent count) is written again by the task worker, with the averages."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from assessments.models import AggregateScore, Assessment, FrameworkItem, LevelRule, compute_assessment
from assessments.services import aggregates_refresh, fiscal_year_restate


@pytest.fixture
def national_officer(django_user_model):
    """Staff of the national office who keeps the framework and level schemes (not a superuser)."""
    user = django_user_model.objects.create_user("national", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_fiscalyear", "change_fiscalyear", "view_levelrule", "change_levelrule", "add_levelrule",
        "delete_levelrule", "view_frameworkitem", "change_frameworkitem",
    ]))
    return user


def level_rules_post(fiscal_year, **changes):
    """The fiscal year's admin form as the browser sends it, with `changes` {rule name: min_overall}."""
    rules = list(LevelRule.objects.filter(fiscal_year=fiscal_year).order_by("-rank"))
    data = {
        "year": fiscal_year.year, "name": fiscal_year.name, "notes": fiscal_year.notes,
        "level_rules-TOTAL_FORMS": len(rules), "level_rules-INITIAL_FORMS": len(rules),
        "level_rules-MIN_NUM_FORMS": 0, "level_rules-MAX_NUM_FORMS": 1000,
    }
    for n, rule in enumerate(rules):
        data.update({
            f"level_rules-{n}-id": rule.pk, f"level_rules-{n}-fiscal_year": fiscal_year.pk,
            f"level_rules-{n}-name": rule.name, f"level_rules-{n}-rank": rule.rank,
            f"level_rules-{n}-min_overall": changes.get(rule.name, rule.min_overall),
            f"level_rules-{n}-min_each_tool": rule.min_each_tool if rule.min_each_tool is not None else "",
        })
        if rule.passed:
            data[f"level_rules-{n}-passed"] = "on"
    return data


def test_it_writes_the_years_levels_again_when_a_national_officer_raises_a_level_rule(
    client, seed_assessment, other_assessment, national_officer, django_capture_on_commit_callbacks
):
    fiscal_year = seed_assessment.fiscal_year
    seed_assessment.refresh_from_db()
    assert seed_assessment.overall.quantize(Decimal("0.01")) == Decimal("92.27")  # seed 000
    assert seed_assessment.level == "ผ่านดี"
    aggregates_refresh(fiscal_year=fiscal_year)

    def passed():
        return AggregateScore.objects.get(fiscal_year=fiscal_year, scope="national", item__kind="overall").pass_count

    assert passed() == 1  # the seed agency; the other one scores 80
    client.force_login(national_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:assessments_fiscalyear_change", args=[fiscal_year.pk]),
            level_rules_post(fiscal_year, **{"ผ่านดี": "93.00", "ผ่าน": "93.00"}),
        )
    assert response.status_code == 302
    seed_assessment.refresh_from_db()
    # 92.27 no longer reaches a passing level: the next one down, by the new rules.
    assert seed_assessment.level == "ต้องปรับปรุง" == compute_assessment(seed_assessment).level.name
    assert passed() == 0
    other_assessment.refresh_from_db()
    assert other_assessment.level == "ต้องปรับปรุง"


def test_it_leaves_the_levels_alone_when_only_the_years_name_changes(
    client, seed_assessment, national_officer, django_capture_on_commit_callbacks, monkeypatch
):
    from assessments import services

    calls = []
    monkeypatch.setattr(services, "fiscal_year_restate", lambda **kwargs: calls.append(kwargs))
    fiscal_year = seed_assessment.fiscal_year
    client.force_login(national_officer)
    data = level_rules_post(fiscal_year)
    data["name"] = "กรอบการประเมิน ITA ปีงบประมาณ พ.ศ. 2568 (แก้ไขชื่อ)"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:assessments_fiscalyear_change", args=[fiscal_year.pk]), data)
    assert response.status_code == 302
    assert calls == []


def test_it_writes_the_overall_again_when_a_tool_weight_changes(agency_b):
    from tests.conftest import make_assessment

    assessment = make_assessment(agency_b, 2568, {("IIT", ""): "90.00", ("EIT", ""): "80.00", ("OIT", ""): "70.00"})
    assessment.refresh_from_db()
    assert assessment.overall == Decimal("79.0000")  # 30 / 30 / 40 %
    # OIT weighs 60 % instead of 40 %.
    weights = {"IIT": Decimal("0.2000"), "EIT": Decimal("0.2000"), "OIT": Decimal("0.6000")}
    for tool in FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year, kind="tool"):
        tool.weight = weights[tool.code]
        tool.save()
    assert fiscal_year_restate(fiscal_year_id=assessment.fiscal_year_id) == 1
    assessment.refresh_from_db()
    assert assessment.overall == Decimal("76.0000") == compute_assessment(assessment).overall.value
    assert fiscal_year_restate(fiscal_year_id=assessment.fiscal_year_id) == 0  # nothing left to change


def test_it_refuses_the_fiscal_year_admin_to_agency_staff(client, seed_assessment, owner):
    client.force_login(owner)
    fiscal_year = seed_assessment.fiscal_year
    response = client.post(
        reverse("admin:assessments_fiscalyear_change", args=[fiscal_year.pk]), level_rules_post(fiscal_year)
    )
    assert response.status_code in (302, 403)
    assert Assessment.objects.get(pk=seed_assessment.pk).level == seed_assessment.level


def test_it_restates_a_year_from_the_command_after_loaddata(seed_assessment):
    from io import StringIO

    from django.core.management import CommandError, call_command

    LevelRule.objects.filter(fiscal_year=seed_assessment.fiscal_year, name__in=["ผ่านดี", "ผ่าน"]).update(
        min_overall=Decimal("93.00"))  # as loaddata writes: no admin, no task
    out = StringIO()
    call_command("restate_year", "2568", stdout=out)
    assert "เปลี่ยน 1 รายการ" in out.getvalue()
    assert Assessment.objects.get(pk=seed_assessment.pk).level == "ต้องปรับปรุง"
    with pytest.raises(CommandError, match="ไม่พบปีงบประมาณ 2499"):
        call_command("restate_year", "2499")
