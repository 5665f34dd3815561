"""Thai formatting rules used across the portal: digits, scores, Buddhist-era dates, fiscal years.

Pure functions only (no database, no settings) so they can be used from models, views,
exports and template filters alike. Numbers are handled as Decimal, never float, because
scores are published to two decimals and a float would round 92.265 down to 92.26.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

__all__ = [
    "THAI_DIGITS",
    "THAI_MONTHS",
    "THAI_MONTHS_ABBR",
    "thai_digits",
    "format_score",
    "be_year",
    "thai_date",
    "thai_date_short",
    "thai_month_year_abbr",
    "fiscal_year_of",
    "fiscal_quarter_of",
    "fiscal_year_range",
    "fiscal_quarter_range",
    "format_quarters",
    "format_date_range",
    "format_fiscal_year",
]

THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)

THAI_MONTHS_ABBR = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)

BANGKOK = ZoneInfo("Asia/Bangkok")

# The Buddhist era counts from 543 BCE; since 1941 the Thai year starts on 1 January,
# so BE = CE + 543 for every date this portal deals with.
BE_OFFSET = 543

# Any "BE" year below this is almost certainly a CE year passed by mistake
# (CE 2025 would otherwise silently become a fiscal year in the 15th century).
_MIN_BE_YEAR = 2400

_DIGIT_STYLES = ("thai", "arabic")
_TWO_PLACES = Decimal("0.01")
_EN_DASH = "\u2013"

# First month of each fiscal quarter; Q1 (October) lies in the previous calendar year.
_QUARTER_START_MONTH = {1: 10, 2: 1, 3: 4, 4: 7}


def _check_digits(digits: str) -> None:
    if digits not in _DIGIT_STYLES:
        raise ValueError(f"digits must be 'thai' or 'arabic', not {digits!r}")


def _render(text: str, digits: str) -> str:
    """Return text with Thai digits when digits == "thai", unchanged for "arabic"."""
    _check_digits(digits)
    return text.translate(THAI_DIGITS) if digits == "thai" else text


def _local_date(d: date | datetime) -> date:
    """The Bangkok calendar date of d: aware datetimes are converted, naive ones taken as local."""
    # datetime is a subclass of date, so test it first.
    if isinstance(d, datetime):
        if d.tzinfo is not None and d.utcoffset() is not None:
            d = d.astimezone(BANGKOK)
        return d.date()
    if isinstance(d, date):
        return d
    raise TypeError(f"expected a date or datetime, not {type(d).__name__}")


def _as_be_year(fy_be: int | str) -> int:
    """A BE year as int; accepts int or a digit string (Thai digits too, int() reads them)."""
    if isinstance(fy_be, bool) or not isinstance(fy_be, (int, str)):
        raise TypeError(f"expected a BE year as int, not {type(fy_be).__name__}")
    year = int(fy_be.strip()) if isinstance(fy_be, str) else fy_be
    if year < _MIN_BE_YEAR:
        raise ValueError(f"{year} is not a Buddhist-era year (did you pass a CE year?)")
    return year


def _check_quarter(q: int) -> int:
    if isinstance(q, bool) or q not in _QUARTER_START_MONTH:
        raise ValueError(f"fiscal quarter must be 1, 2, 3 or 4, not {q!r}")
    return q


def thai_digits(value: object) -> str:
    """str(value) with Arabic digits 0-9 replaced by Thai digits ๐-๙; None gives ""."""
    if value is None:
        return ""
    # format(..., "f") keeps Decimal("1E+2") from rendering in scientific notation.
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    return text.translate(THAI_DIGITS)


def format_score(value: Decimal | str | int | None, digits: str = "thai") -> str:
    """A score with exactly two decimals, rounded half-up (92.265 -> ๙๒.๒๗); None or "" gives "-".

    Rounding is Decimal.quantize with ROUND_HALF_UP, the rule used in published ITA results
    (Python's round() and float would give banker's rounding / binary error instead).
    """
    _check_digits(digits)
    if value is None or (isinstance(value, str) and not value.strip()):
        return "-"
    if isinstance(value, bool) or not isinstance(value, (Decimal, str, int)):
        raise TypeError(f"score must be Decimal, str or int, not {type(value).__name__}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"score must be finite, not {value!r}")
    return _render(format(number.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP), "f"), digits)


def be_year(d: date | datetime) -> int:
    """The Buddhist-era year (CE + 543) of d's Bangkok calendar date."""
    return _local_date(d).year + BE_OFFSET


def thai_date(d: date | datetime, digits: str = "thai") -> str:
    """Full Thai date: date(2023, 10, 2) -> "๒ ตุลาคม พ.ศ. ๒๕๖๖"."""
    local = _local_date(d)
    return _render(f"{local.day} {THAI_MONTHS[local.month - 1]} พ.ศ. {be_year(local)}", digits)


def thai_date_short(d: date | datetime, digits: str = "thai") -> str:
    """Abbreviated Thai date with a two-digit BE year: date(2023, 10, 2) -> "๒ ต.ค. ๖๖"."""
    local = _local_date(d)
    return _render(f"{local.day} {THAI_MONTHS_ABBR[local.month - 1]} {be_year(local) % 100:02d}", digits)


def thai_month_year_abbr(d: date | datetime, digits: str = "thai") -> str:
    """Abbreviated month glued to the two-digit BE year, as in official tables: "ต.ค.๖๗"."""
    local = _local_date(d)
    return _render(f"{THAI_MONTHS_ABBR[local.month - 1]}{be_year(local) % 100:02d}", digits)


def fiscal_year_of(d: date | datetime) -> int:
    """Thai fiscal year (BE) of d: 1 Oct - 30 Sep, named after the BE year in which it ends."""
    local = _local_date(d)
    # October-December already belong to the fiscal year that ends next September.
    return be_year(local) + (1 if local.month >= 10 else 0)


def fiscal_quarter_of(d: date | datetime) -> int:
    """Fiscal quarter of d: 1 = Oct-Dec, 2 = Jan-Mar, 3 = Apr-Jun, 4 = Jul-Sep."""
    # Shift so October is month 0 of the fiscal year, then group by three.
    return (_local_date(d).month - 10) % 12 // 3 + 1


def fiscal_year_range(fy_be: int | str) -> tuple[date, date]:
    """First and last day of a fiscal year: 2568 -> (date(2024, 10, 1), date(2025, 9, 30))."""
    end_ce = _as_be_year(fy_be) - BE_OFFSET
    return date(end_ce - 1, 10, 1), date(end_ce, 9, 30)


def fiscal_quarter_range(fy_be: int | str, q: int) -> tuple[date, date]:
    """First and last day of quarter q (1-4) of a fiscal year; ValueError for any other q."""
    end_ce = _as_be_year(fy_be) - BE_OFFSET
    start_month = _QUARTER_START_MONTH[_check_quarter(q)]
    year = end_ce - 1 if q == 1 else end_ce
    end_month = start_month + 2
    return date(year, start_month, 1), date(year, end_month, calendar.monthrange(year, end_month)[1])


def format_fiscal_year(fy_be: int | str, digits: str = "thai") -> str:
    """Fiscal-year label: 2568 -> "ปีงบประมาณ พ.ศ. ๒๕๖๘"."""
    return _render(f"ปีงบประมาณ พ.ศ. {_as_be_year(fy_be)}", digits)


def format_quarters(quarters: Iterable[int] | None, fy_be: int | str, digits: str = "thai") -> str:
    """Quarters of a fiscal year: "ไตรมาส ๑-๔ (…)" if contiguous, "ไตรมาส ๑, ๓ (…)" if not; empty -> "".

    Duplicates are ignored and order does not matter.
    """
    _check_digits(digits)
    qs = sorted({_check_quarter(q) for q in (quarters or ())})
    if not qs:
        return ""
    if len(qs) == 1:
        label = str(qs[0])
    elif qs[-1] - qs[0] == len(qs) - 1:
        label = f"{qs[0]}-{qs[-1]}"
    else:
        label = ", ".join(str(q) for q in qs)
    return _render(f"ไตรมาส {label} ({format_fiscal_year(fy_be, 'arabic')})", digits)


def format_date_range(start: date | datetime, end: date | datetime, digits: str = "thai") -> str:
    """Month-year span as official documents write it: "ต.ค.๖๗ – เม.ย.๖๘"; one month -> "ต.ค.๖๗".

    ValueError if end is before start.
    """
    first, last = _local_date(start), _local_date(end)
    if last < first:
        raise ValueError(f"date range ends ({last}) before it starts ({first})")
    if (first.year, first.month) == (last.year, last.month):
        return thai_month_year_abbr(first, digits)
    return f"{thai_month_year_abbr(first, digits)} {_EN_DASH} {thai_month_year_abbr(last, digits)}"


# Terms libthai's dictionary splits in two ("เว็บ|ไซต์", "ผ่าน|ดี"); documents keep each on one line.
# Each kept term costs WeasyPrint an inline box, so the list holds the splits that read
# worst, not every compound ("ตัวชี้|วัด", "ข้อคำ|ถาม" stay breakable: 40–60 a document).
KEEP_TOGETHER = (
    "ผ่านดีเยี่ยม", "ผ่านดี", "เว็บไซต์", "คิวอาร์โค้ด", "โซเชียลมีเดีย", "ผู้รับผิดชอบ", "หน่วยงาน", "เบิกจ่าย",
)
# A term in quotes keeps its quotes: “ผ่านดี” never leaves “ at a line's end.
KEEP_TOGETHER_RE = re.compile("“?(?:" + "|".join(re.escape(term) for term in KEEP_TOGETHER) + ")”?")


def in_digits(value: object, digits: str = "thai") -> str:
    """str(value) in the agency's digit style: Thai digits unless "arabic" (codes such as O28 → O๒๘)."""
    if value is None:
        return ""
    return str(value) if digits == "arabic" else thai_digits(value)
