"""HTML template + context → PDF bytes (WeasyPrint), and bytes → HTTP response.

One FontConfiguration serves every render: a stylesheet laid out with another
configuration silently falls back to DejaVu and Thai turns into boxes. Fonts and
images resolve from disk (file:// URLs); the server never fetches from itself."""

import hashlib
import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.template.loader import render_to_string

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
_font_config = None
_text_layer_patched = False


def _patch_text_layer():
    """Wrap every line of text WeasyPrint draws in `/Span <</ActualText (…)>> BDC … EMC`.

    Why: HarfBuzz's Thai shaper decomposes sara am (U+0E33) into nikhahit + sara aa, so
    "การ" and "ประจำ" share one sara-aa glyph. WeasyPrint writes one ToUnicode string per
    glyph, so copying or `pdftotext` gave "กำร" or "ประจาปี", whichever word came first.
    No ToUnicode map can be right for both; ActualText gives readers (poppler, pdf.js,
    Acrobat, screen readers) the line's original string instead of the glyphs' mapping.

    How: `weasyprint.draw.text.draw_first_line` draws one text box's line inside a BT … ET
    text object; we emit the marked-content sequence around it, inside the text object (the
    PDF spec allows marked content within BT/ET when properly nested), so WeasyPrint's own
    merging of consecutive BT/ET and its tagged-PDF marks are untouched. Written against
    WeasyPrint 70.0 (pinned in requirements.txt); after an upgrade tests/test_pdf_text_layer.py
    says whether it still holds."""
    global _text_layer_patched
    if _text_layer_patched:
        return
    import pydyf
    from weasyprint.draw import text as draw_text_module

    draw_first_line = draw_text_module.draw_first_line

    def draw_first_line_with_actual_text(stream, textbox, *args, **kwargs):
        text = unicodedata.normalize("NFC", textbox.text or "")
        if not text.strip():
            return draw_first_line(stream, textbox, *args, **kwargs)
        stream.begin_marked_content("Span", pydyf.Dictionary({"ActualText": pydyf.String(text)}))
        try:
            return draw_first_line(stream, textbox, *args, **kwargs)
        finally:
            stream.end_marked_content()

    draw_text_module.draw_first_line = draw_first_line_with_actual_text
    _text_layer_patched = True


def font_config():
    global _font_config
    if _font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        _patch_text_layer()
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
