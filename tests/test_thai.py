from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.template import Context, Template

from ita_portal.thai import (
    THAI_MONTHS,
    THAI_MONTHS_ABBR,
    be_year,
    fiscal_quarter_of,
    fiscal_quarter_range,
    fiscal_year_of,
    fiscal_year_range,
    format_date_range,
    format_fiscal_year,
    format_quarters,
    format_score,
    thai_date,
    thai_date_short,
    thai_digits,
    thai_month_year_abbr,
)

# --- digits -----------------------------------------------------------------


def test_it_converts_every_arabic_digit_to_thai():
    assert thai_digits("0123456789") == "๐๑๒๓๔๕๖๗๘๙"


def test_it_converts_digits_of_an_int():
    assert thai_digits(2568) == "๒๕๖๘"


def test_it_converts_digits_of_a_decimal_without_scientific_notation():
    assert thai_digits(Decimal("1E+2")) == "๑๐๐"


def test_it_leaves_non_digits_untouched():
    assert thai_digits("ข้อ 3.2/1") == "ข้อ ๓.๒/๑"


def test_it_turns_none_into_an_empty_string_for_digits():
    assert thai_digits(None) == ""


# --- scores -----------------------------------------------------------------


def test_it_rounds_a_score_half_up_to_two_decimals():
    assert format_score(Decimal("92.265")) == "๙๒.๒๗"


def test_it_rounds_a_score_half_up_where_bankers_rounding_would_not():
    assert format_score(Decimal("86.875")) == "๘๖.๘๘"


def test_it_rounds_a_three_decimal_score():
    assert format_score(Decimal("92.268")) == "๙๒.๒๗"


def test_it_pads_an_integer_score_to_two_decimals():
    assert format_score(100) == "๑๐๐.๐๐"


def test_it_accepts_a_score_given_as_a_string():
    assert format_score("92.265") == "๙๒.๒๗"


def test_it_formats_a_score_with_arabic_digits_on_request():
    assert format_score(Decimal("92.268"), digits="arabic") == "92.27"


def test_it_shows_a_dash_for_a_missing_score():
    assert format_score(None) == "-"


def test_it_rejects_a_float_score():
    with pytest.raises(TypeError):
        format_score(92.265)


def test_it_rejects_a_score_that_is_not_a_number():
    with pytest.raises(ValueError):
        format_score("n/a")


def test_it_rejects_an_unknown_digits_style():
    with pytest.raises(ValueError):
        format_score(Decimal("1"), digits="roman")


# --- Buddhist-era dates -------------------------------------------------------


def test_it_adds_543_for_the_buddhist_era_year():
    assert be_year(date(2024, 1, 1)) == 2567


def test_it_writes_a_full_thai_date():
    assert thai_date(date(2023, 10, 2)) == "๒ ตุลาคม พ.ศ. ๒๕๖๖"


def test_it_writes_a_full_thai_date_with_arabic_digits():
    assert thai_date(date(2023, 10, 2), digits="arabic") == "2 ตุลาคม พ.ศ. 2566"


def test_it_keeps_31_december_2024_in_be_2567():
    assert thai_date(date(2024, 12, 31)) == "๓๑ ธันวาคม พ.ศ. ๒๕๖๗"


def test_it_moves_1_january_2025_to_be_2568():
    assert thai_date(date(2025, 1, 1)) == "๑ มกราคม พ.ศ. ๒๕๖๘"


def test_it_converts_an_aware_utc_datetime_to_the_bangkok_date():
    assert thai_date(datetime(2024, 12, 31, 18, 0, tzinfo=UTC)) == "๑ มกราคม พ.ศ. ๒๕๖๘"


def test_it_takes_a_naive_datetime_as_bangkok_local_time():
    assert thai_date(datetime(2024, 12, 31, 23, 59)) == "๓๑ ธันวาคม พ.ศ. ๒๕๖๗"


def test_it_writes_a_short_thai_date_with_a_two_digit_year():
    assert thai_date_short(date(2023, 10, 2)) == "๒ ต.ค. ๖๖"


def test_it_glues_the_abbreviated_month_to_the_two_digit_year():
    assert thai_month_year_abbr(date(2024, 10, 5)) == "ต.ค.๖๗"


def test_it_has_twelve_full_and_abbreviated_month_names():
    assert (len(THAI_MONTHS), len(THAI_MONTHS_ABBR)) == (12, 12)


def test_it_rejects_something_that_is_not_a_date():
    with pytest.raises(TypeError):
        thai_date("2024-10-05")


# --- fiscal years and quarters -------------------------------------------------


def test_it_puts_30_september_2024_in_fiscal_year_2567():
    assert fiscal_year_of(date(2024, 9, 30)) == 2567


def test_it_puts_1_october_2024_in_fiscal_year_2568():
    assert fiscal_year_of(date(2024, 10, 1)) == 2568


def test_it_puts_30_september_2025_in_fiscal_year_2568_quarter_4():
    d = date(2025, 9, 30)
    assert (fiscal_year_of(d), fiscal_quarter_of(d)) == (2568, 4)


def test_it_puts_1_october_2025_in_fiscal_year_2569_quarter_1():
    d = date(2025, 10, 1)
    assert (fiscal_year_of(d), fiscal_quarter_of(d)) == (2569, 1)


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (date(2024, 12, 31), 1),
        (date(2025, 1, 1), 2),
        (date(2025, 3, 31), 2),
        (date(2025, 4, 1), 3),
        (date(2025, 6, 30), 3),
        (date(2025, 7, 1), 4),
    ],
)
def test_it_places_quarter_edges_in_the_right_quarter(day, quarter):
    assert fiscal_quarter_of(day) == quarter


def test_it_uses_the_bangkok_date_for_the_fiscal_year():
    assert fiscal_year_of(datetime(2024, 9, 30, 17, 0, tzinfo=UTC)) == 2568


def test_it_gives_the_first_and_last_day_of_a_fiscal_year():
    assert fiscal_year_range(2568) == (date(2024, 10, 1), date(2025, 9, 30))


def test_it_gives_quarter_1_in_the_previous_calendar_year():
    assert fiscal_quarter_range(2568, 1) == (date(2024, 10, 1), date(2024, 12, 31))


def test_it_gives_quarter_2_from_january_to_march():
    assert fiscal_quarter_range(2568, 2) == (date(2025, 1, 1), date(2025, 3, 31))


def test_it_gives_quarter_3_from_april_to_june():
    assert fiscal_quarter_range(2568, 3) == (date(2025, 4, 1), date(2025, 6, 30))


def test_it_gives_quarter_4_from_july_to_september():
    assert fiscal_quarter_range(2568, 4) == (date(2025, 7, 1), date(2025, 9, 30))


def test_it_rejects_a_quarter_outside_1_to_4():
    with pytest.raises(ValueError):
        fiscal_quarter_range(2568, 5)


def test_it_rejects_a_ce_year_passed_as_a_fiscal_year():
    with pytest.raises(ValueError):
        fiscal_year_range(2025)


def test_it_labels_a_fiscal_year():
    assert format_fiscal_year(2568) == "ปีงบประมาณ พ.ศ. ๒๕๖๘"


# --- quarter lists and date ranges -----------------------------------------------


def test_it_writes_contiguous_quarters_as_a_range():
    assert format_quarters([1, 2, 3, 4], 2569) == "ไตรมาส ๑-๔ (ปีงบประมาณ พ.ศ. ๒๕๖๙)"


def test_it_writes_a_single_quarter_alone():
    assert format_quarters([2], 2569) == "ไตรมาส ๒ (ปีงบประมาณ พ.ศ. ๒๕๖๙)"


def test_it_lists_non_contiguous_quarters_with_commas():
    assert format_quarters([3, 1], 2569) == "ไตรมาส ๑, ๓ (ปีงบประมาณ พ.ศ. ๒๕๖๙)"


def test_it_writes_quarters_with_arabic_digits_on_request():
    assert format_quarters([1, 2], 2569, digits="arabic") == "ไตรมาส 1-2 (ปีงบประมาณ พ.ศ. 2569)"


def test_it_writes_nothing_for_no_quarters():
    assert format_quarters([], 2569) == ""


def test_it_rejects_an_invalid_quarter_in_a_list():
    with pytest.raises(ValueError):
        format_quarters([0, 1], 2569)


def test_it_writes_a_date_range_as_abbreviated_months_with_an_en_dash():
    assert format_date_range(date(2024, 10, 1), date(2025, 4, 30)) == "ต.ค.๖๗ – เม.ย.๖๘"


def test_it_writes_a_range_within_one_month_once():
    assert format_date_range(date(2024, 10, 1), date(2024, 10, 31)) == "ต.ค.๖๗"


def test_it_rejects_a_date_range_that_ends_before_it_starts():
    with pytest.raises(ValueError):
        format_date_range(date(2025, 4, 30), date(2024, 10, 1))


# --- template filters ---------------------------------------------------------------


def render(source, **context):
    return Template("{% load thai %}" + source).render(Context(context))


def test_it_renders_thai_digits_in_a_template():
    assert render("{{ n|thai_digits }}", n=2568) == "๒๕๖๘"


def test_it_renders_a_score_in_a_template():
    assert render("{{ s|score }}", s=Decimal("92.265")) == "๙๒.๒๗"


def test_it_renders_a_score_with_arabic_digits_in_a_template():
    assert render('{{ s|score:"arabic" }}', s=Decimal("92.265")) == "92.27"


def test_it_renders_a_dash_for_a_missing_score_in_a_template():
    assert render("{{ s|score }}", s=None) == "-"


def test_it_renders_dates_in_a_template():
    out = render(
        "{{ d|thai_date }}|{{ d|thai_date_short }}|{{ d|thai_month_year }}", d=date(2023, 10, 2)
    )
    assert out == "๒ ตุลาคม พ.ศ. ๒๕๖๖|๒ ต.ค. ๖๖|ต.ค.๖๖"


def test_it_renders_a_fiscal_year_in_a_template():
    assert render("{{ fy|fiscal_year }}", fy=2568) == "ปีงบประมาณ พ.ศ. ๒๕๖๘"


def test_it_renders_quarters_in_a_template():
    assert render("{{ qs|quarters:fy }}", qs=[1, 2, 3, 4], fy=2569) == "ไตรมาส ๑-๔ (ปีงบประมาณ พ.ศ. ๒๕๖๙)"


def test_it_renders_nothing_for_missing_values_in_a_template():
    out = render(
        "[{{ x|thai_digits }}{{ x|thai_date }}{{ x|thai_date_short }}{{ x|thai_month_year }}"
        "{{ x|fiscal_year }}{{ x|quarters:2569 }}{{ qs|quarters:x }}]",
        x=None,
        qs=[1],
    )
    assert out == "[]"


def test_it_still_escapes_html_passed_through_thai_digits():
    assert render("{{ s|thai_digits }}", s="<b>1</b>") == "&lt;b&gt;๑&lt;/b&gt;"
