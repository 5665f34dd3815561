"""HTML for the few table rows that pages build in Python instead of in a template loop (the
score rows of the admin assessment page, the province comparison table): at seventy rows the
template engine's per-variable work cost more than the rest of the page."""

import html
from urllib.parse import quote

from django.urls import reverse


def escape(value):
    """What {{ value }} writes for plain text: str(value) with & < > " ' escaped, as
    django.utils.html.escape does, without its lazy-string check (a cost per call); None gives
    "None", as in a template."""
    return html.escape(str(value))


def url_maker(name, *args, convert=str):
    """A function value → URL of the view `name`, with `value` in place of the None in `args`:
    reverse() once, then filled in per row (a table page would otherwise resolve hundreds of URLs).
    `convert` is the path converter's to_url, then quoted as reverse() quotes it."""
    marker = "9876543210"  # digits: fits str and int path converters
    pattern = reverse(name, args=[marker if a is None else a for a in args])
    return lambda value: pattern.replace(marker, quote(convert(value), safe="!$&'()*+,;=/~:@"))
