"""One score parser for the score page and the import: the same text is accepted, or refused
with the same Thai reason, on both paths."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from assessments import scoring
from assessments.resources import import_scores

ACCEPTED = [
    ("12.5", Decimal("12.50")),
    ("12.50", Decimal("12.50")),
    (" 12.5 ", Decimal("12.50")),
    ("\u00a012.5\t", Decimal("12.50")),
    ("๑๒.๕", Decimal("12.50")),
    ("๙๒.๒๗", Decimal("92.27")),
    ("100", Decimal("100.00")),
    ("0", Decimal("0.00")),
    ("92.270", Decimal("92.27")),
]
REFUSED = [
    ("12,5", "ใช้จุด (.) เป็นจุดทศนิยม ไม่ใช้จุลภาค (,) เช่น 92.5 (ได้ 12,5)"),
    ("๑๒,๕", "ใช้จุด (.) เป็นจุดทศนิยม ไม่ใช้จุลภาค (,) เช่น 92.5 (ได้ ๑๒,๕)"),
    ("92.275", "คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง (ได้ 92.275)"),
    ("-1", "คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ -1)"),
    ("-0", "คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ -0)"),
    ("100.01", "คะแนนต้องอยู่ระหว่าง 0 ถึง 100 (ได้ 100.01)"),
    ("NaN", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ NaN)"),
    ("inf", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ inf)"),
    ("Infinity", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ Infinity)"),
    ("1e2", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ 1e2)"),
    ("12.", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ 12.)"),
    ("1 2", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ 1 2)"),
]


@pytest.mark.parametrize("text, value", ACCEPTED)
def test_it_parses_the_accepted_forms(text, value):
    assert scoring.parse_score(text) == value


@pytest.mark.parametrize("text, reason", REFUSED)
def test_it_refuses_the_other_forms_with_the_reason(text, reason):
    with pytest.raises(ValueError) as refused:
        scoring.parse_score(text)
    assert str(refused.value) == reason


@pytest.mark.parametrize("text", ["", "   ", None])
def test_it_reads_an_empty_entry_as_no_score(text):
    assert scoring.parse_score(text) is None


# The score page (AssessmentAdmin), as the agency's staff uses it


def change_url(assessment):
    return reverse("admin:assessments_assessment_change", args=[assessment.pk])


def page_post(client, assessment, text):
    page = client.get(change_url(assessment))
    form = page.context["adminform"].form
    data = {"notes": "", "version": form.initial["version"], "_save": "1"}
    for name in form.fields:
        if name.startswith("score_"):
            data[name] = form.initial.get(name, "")
    data["score_overall"] = text
    return client.post(change_url(assessment), data)


def stored_overall(assessment):
    return assessment.scores.get(item__code="overall", part="").value


@pytest.mark.parametrize("text, value", ACCEPTED)
def test_it_accepts_the_same_forms_on_the_score_page(client, owner, seed_assessment, text, value):
    client.force_login(owner)

    response = page_post(client, seed_assessment, text)

    assert response.status_code == 302
    assert stored_overall(seed_assessment) == value


@pytest.mark.parametrize("text, reason", REFUSED)
def test_it_refuses_the_same_forms_on_the_score_page(client, owner, seed_assessment, text, reason):
    client.force_login(owner)

    response = page_post(client, seed_assessment, text)

    assert response.status_code == 200
    assert f"คะแนนรวม: {reason}" in response.content.decode()
    assert stored_overall(seed_assessment) == Decimal("92.27")


# The import, long layout


def import_overall(text):
    csv = "agency_code,fiscal_year,item,score\n" + f'A001,2568,overall,"{text}"\n'
    return import_scores(csv.encode())


@pytest.mark.parametrize("text, value", ACCEPTED)
def test_it_accepts_the_same_forms_in_an_import(seed_assessment, text, value):
    import_overall(text)

    assert stored_overall(seed_assessment) == value


@pytest.mark.parametrize("text, reason", REFUSED)
def test_it_refuses_the_same_forms_in_an_import(seed_assessment, text, reason):
    with pytest.raises(ValidationError) as refused:
        import_overall(text)

    assert refused.value.messages == [f"แถวที่ 2 คอลัมน์ score: {reason}"]
    assert stored_overall(seed_assessment) == Decimal("92.27")
