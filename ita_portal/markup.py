"""HTML for the few table rows that pages build in Python instead of in a template loop (the
score rows of the admin assessment page, the province comparison table): at seventy rows the
template engine's per-variable work cost more than the rest of the page."""

import html


def escape(value):
    """What {{ value }} writes for plain text: str(value) with & < > " ' escaped, as
    django.utils.html.escape does, without its lazy-string check (a cost per call); None gives
    "None", as in a template."""
    return html.escape(str(value))
