"""HTML template + context → PDF bytes (WeasyPrint), and bytes → HTTP response.

One FontConfiguration serves every render: a stylesheet laid out with another
configuration silently falls back to DejaVu and Thai turns into boxes. Fonts and
images resolve from disk (file:// URLs); the server never fetches from itself."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.template.loader import render_to_string

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
_font_config = None


def font_config():
    global _font_config
    if _font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        _font_config = FontConfiguration()
    return _font_config


def render_html(template_name, context):
    return render_to_string(template_name, {"font_dir": FONT_DIR.as_uri(), **context})


def html_to_pdf(html):
    from weasyprint import HTML

    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(font_config=font_config())


def render_pdf(template_name, context, *, cache_seconds=0):
    """Render to PDF bytes. With `cache_seconds`, an unchanged document (same HTML)
    is served from the cache without laying it out again."""
    html = render_html(template_name, context)
    if not cache_seconds:
        return html_to_pdf(html)
    key = "pdf:" + hashlib.sha256(html.encode()).hexdigest()
    pdf = cache.get(key)
    if pdf is None:
        pdf = html_to_pdf(html)
        cache.set(key, pdf, cache_seconds)
    return pdf


def pdf_response(data, filename, *, inline=True):
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f"{disposition}; filename=\"{filename}\""
    response["Content-Length"] = str(len(data))
    return response
