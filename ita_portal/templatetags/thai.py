"""Template filters for Thai formatting: {% load thai %}.

Thin wrappers around ita_portal.thai; every rule lives there. Filters return "" (or "-" for
scores) on None or empty values so a missing field never breaks a page.
"""

from django import template

from ita_portal import thai

register = template.Library()


def _is_empty(value) -> bool:
    return value is None or value == ""


@register.filter(name="thai_digits", is_safe=True)
def thai_digits_filter(value):
    """{{ value|thai_digits }}: Arabic digits replaced by Thai digits."""
    return thai.thai_digits(value)


@register.filter(name="score")
def score_filter(value, digits="thai"):
    """{{ score|score }} -> "๙๒.๒๗"; {{ score|score:"arabic" }} -> "92.27"; None -> "-"."""
    return thai.format_score(None if _is_empty(value) else value, digits)


@register.filter(name="thai_date")
def thai_date_filter(value, digits="thai"):
    """{{ date|thai_date }} -> "๒ ตุลาคม พ.ศ. ๒๕๖๖"."""
    return "" if _is_empty(value) else thai.thai_date(value, digits)


@register.filter(name="thai_date_short")
def thai_date_short_filter(value, digits="thai"):
    """{{ date|thai_date_short }} -> "๒ ต.ค. ๖๖"."""
    return "" if _is_empty(value) else thai.thai_date_short(value, digits)


@register.filter(name="thai_month_year")
def thai_month_year_filter(value, digits="thai"):
    """{{ date|thai_month_year }} -> "ต.ค.๖๗"."""
    return "" if _is_empty(value) else thai.thai_month_year_abbr(value, digits)


@register.filter(name="fiscal_year")
def fiscal_year_filter(value, digits="thai"):
    """{{ fy_be|fiscal_year }} -> "ปีงบประมาณ พ.ศ. ๒๕๖๘"."""
    return "" if _is_empty(value) else thai.format_fiscal_year(value, digits)


@register.filter(name="quarters")
def quarters_filter(value, fy_be):
    """{{ quarter_list|quarters:fy_be }} -> "ไตรมาส ๑-๔ (ปีงบประมาณ พ.ศ. ๒๕๖๙)"."""
    if not value or _is_empty(fy_be):
        return ""
    return thai.format_quarters(value, fy_be)


@register.filter(name="digits")
def digits_filter(value, digits="thai"):
    """{{ code|digits:digits }}: "O28" → "O๒๘" unless the agency prints tables in Arabic digits."""
    return thai.in_digits(value, digits)

