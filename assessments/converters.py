from urllib.parse import quote, unquote

from django.urls import register_converter


class AgencyCodeConverter:
    """An agency code as one URL segment. Codes are letters, digits and "-" (the Agency.code
    validator) and pass through unchanged; one stored before that rule (NK/001, ../x) is
    percent-encoded whole, "/" included, so reversing its URL neither fails nor makes a path."""

    regex = "[^/]+"

    def to_python(self, value):
        return unquote(value)

    def to_url(self, value):
        return quote(str(value), safe="")


# Registered once, here: both apps' URLs import this module (a second registration is deprecated).
register_converter(AgencyCodeConverter, "agency_code")
