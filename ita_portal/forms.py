"""Form fields shared by the portal's pages."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from ita_portal import thai


class ThaiDateWidget(forms.MultiWidget):
    """A date as three selects: day, Thai month and Buddhist-era year (พ.ศ.).
    Posted as <name>_0 (day), <name>_1 (month 1–12) and <name>_2 (BE year)."""

    def __init__(self, years=None, attrs=None):
        self.years = list(years) if years is not None else None
        day = forms.Select(attrs={"aria-label": "วันที่", "class": "date-day"})
        month = forms.Select(attrs={"aria-label": "เดือน", "class": "date-month"})
        year = forms.Select(attrs={"aria-label": "ปี พ.ศ.", "class": "date-year"})
        super().__init__([day, month, year], attrs)

    def get_context(self, name, value, attrs):
        years = self.years or default_be_years()
        day, month, year = self.widgets
        day.choices = [("", "วัน")] + [(d, d) for d in range(1, 32)]
        month.choices = [("", "เดือน")] + [(m, thai.THAI_MONTHS[m - 1]) for m in range(1, 13)]
        year.choices = [("", "พ.ศ.")] + [(y, y) for y in years]
        return super().get_context(name, value, attrs)

    def decompress(self, value):
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year + thai.BE_OFFSET]
        return [None, None, None]


def default_be_years(today=None):
    """The BE years offered by default: two years back to one year ahead of today."""
    year = (today or timezone.localdate()).year + thai.BE_OFFSET
    return range(year - 2, year + 2)


class ThaiDateField(forms.MultiValueField):
    """A date entered as day / Thai month / พ.ศ.; cleans to a datetime.date (CE)."""

    def __init__(self, *, years=None, **kwargs):
        error_messages = {
            "required": "กรุณาเลือกให้ครบทั้งวันที่ เดือน และปี พ.ศ.",
            "incomplete": "กรุณาเลือกให้ครบทั้งวันที่ เดือน และปี พ.ศ.",
        }
        def part(name, low, high):
            message = f"{name}ต้องอยู่ระหว่าง {low} ถึง {high}"
            return forms.IntegerField(
                min_value=low, max_value=high,
                error_messages={"invalid": message, "min_value": message, "max_value": message},
            )

        fields = (part("วันที่", 1, 31), part("เดือน", 1, 12), part("ปี พ.ศ.", 2400, 2700))
        kwargs.setdefault("widget", ThaiDateWidget(years=years))
        super().__init__(fields, error_messages=error_messages, require_all_fields=True, **kwargs)

    def set_years(self, years):
        self.widget.years = list(years)

    def compress(self, data_list):
        if not data_list or all(v in (None, "") for v in data_list):
            return None
        if any(v in (None, "") for v in data_list):
            raise ValidationError(self.error_messages["incomplete"], code="incomplete")
        day, month, be_year = data_list
        try:
            return datetime.date(be_year - thai.BE_OFFSET, month, day)
        except ValueError:
            raise ValidationError(
                f"ไม่มีวันที่ {day} {thai.THAI_MONTHS[month - 1]} พ.ศ. {be_year}", code="invalid_date"
            ) from None
