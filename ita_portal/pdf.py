"""HTML template + context → PDF bytes (WeasyPrint), and bytes → HTTP response.

One FontConfiguration serves every render: a stylesheet laid out with another
configuration silently falls back to DejaVu and Thai turns into boxes. Fonts and
images resolve from disk (file:// URLs); the server never fetches from itself."""

import hashlib
import re
import unicodedata
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.template.loader import render_to_string

from ita_portal import thai

FONT_DIR = Path(settings.BASE_DIR) / "static" / "fonts"
_font_config = None
_text_layer_patched = False
_thai_breaks_patched = False
_THAI = re.compile("[\u0e01-\u0e5b]")


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
        # Zero-width spaces only mark line-break opportunities (keep_terms_together).
        text = unicodedata.normalize("NFC", textbox.text or "").replace("\u200b", "")
        if not text.strip():
            return draw_first_line(stream, textbox, *args, **kwargs)
        stream.begin_marked_content("Span", pydyf.Dictionary({"ActualText": pydyf.String(text)}))
        try:
            return draw_first_line(stream, textbox, *args, **kwargs)
        finally:
            stream.end_marked_content()

    draw_text_module.draw_first_line = draw_first_line_with_actual_text
    _text_layer_patched = True


def _patch_thai_line_breaks():
    """Break Thai lines only where Pango + libthai would break the whole text.

    Why: to save work, WeasyPrint's `split_first_line` lays out only the first
    `max_width / font_size × 4` characters of a text and takes the first line from that
    cut. Thai has no spaces, so the cut usually ends inside a word; libthai segments the
    cut-off fragment as a word of its own ("ประสิทธิ" → "ประ|สิทธิ") and the line broke
    there: "ประ/สิทธิภาพ" in a table cell. A full-text segmentation has no such break.

    How: after WeasyPrint picks a break in a text containing Thai, check it against the
    log attributes of the whole text (pango_get_log_attrs with the box's language); if it
    is not a break opportunity there, lay the first line out again from the whole text.
    Valid breaks (nearly all) cost one log-attribute pass. Written against WeasyPrint 70.0
    (pinned); tests/test_pdf_form.py fails if a narrow cell splits a Thai word again."""
    global _thai_breaks_patched
    if _thai_breaks_patched:
        return
    from weasyprint.layout import inline, preferred
    from weasyprint.text import line_break

    original = line_break.split_first_line

    def split_first_line(text, style, context, max_width, justification_spacing, is_line_start=True,
                         minimum=False):
        result = original(text, style, context, max_width, justification_spacing, is_line_start, minimum)
        resume_index = result[2]
        if resume_index is None or not max_width or not _THAI.search(text):
            return result
        encoded = text.encode()
        position = len(encoded[:resume_index].decode(errors="ignore"))
        if position >= len(text):
            return result
        log_attrs = line_break.get_log_attrs(text, style["lang"])

        def breaks_at(index):
            return log_attrs[index].is_line_break or log_attrs[index].is_mandatory_break

        if breaks_at(position):
            return result
        space_collapse = style["white_space"] in ("normal", "nowrap", "pre-line")
        # Lay out the text up to the first real break after the bad one: the fragment ends
        # at a word boundary, so libthai segments it as it does the whole text.
        for _ in range(3):
            cut = next((i for i in range(position + 1, len(text)) if breaks_at(i)), len(text))
            fragment = text[:cut]
            layout = line_break.create_layout(fragment, style, context, max_width, justification_spacing)
            first_line, resume_index = layout.get_first_line()
            if resume_index is None:
                break
            position = len(fragment.encode()[:resume_index].decode(errors="ignore"))
            if breaks_at(position):
                return line_break.first_line_metrics(first_line, text, layout, resume_index, space_collapse, style)
        layout = line_break.create_layout(text, style, context, max_width, justification_spacing)
        first_line, resume_index = layout.get_first_line()
        return line_break.first_line_metrics(first_line, text, layout, resume_index, space_collapse, style)

    line_break.split_first_line = split_first_line
    inline.split_first_line = split_first_line
    preferred.split_first_line = split_first_line
    _thai_breaks_patched = True


def font_config():
    global _font_config
    if _font_config is None:
        from weasyprint.text.fonts import FontConfiguration

        _patch_text_layer()
        _patch_thai_line_breaks()
        _font_config = FontConfiguration()
    return _font_config


ZERO_WIDTH_SPACE = "\u200b"
_SVG = re.compile(r"(<svg\b.*?</svg>)", re.S)
_TEXT_NODE = re.compile(r">([^<]+)<")


def keep_terms_together(html):
    """The HTML with every term of thai.KEEP_TOGETHER in the body's text wrapped in
    `<span class="nw">` (white-space: nowrap, base.html): libthai's dictionary splits
    "เว็บ|ไซต์", "ผ่าน|ดี", "หน่วย|งาน", and a line must never break there. Text only:
    tags, attributes, the head and inline SVG charts are left as they are.

    WeasyPrint finds no break between two inline boxes of Thai (it asks libthai about the
    two letters at the seam, which is too little context), so "ของ<span>หน่วยงาน</span>"
    would become one unbreakable run. Where libthai, reading the whole text, breaks before
    or after the term, a zero-width space (U+200B) outside the span keeps that break; the
    text layer leaves it out (_patch_text_layer)."""
    head, body_tag, body = html.partition("<body")
    if not body_tag:
        return html

    def wrap_terms(match):
        text = match.group(1)
        terms = list(thai.KEEP_TOGETHER_RE.finditer(text))
        if not terms:
            return match.group(0)
        from weasyprint.text.line_break import get_log_attrs

        log_attrs = get_log_attrs(text, "th")
        out, last = [], 0
        for term in terms:
            start, end = term.span()
            out.append(text[last:start])
            if start and log_attrs[start].is_line_break and not text[start - 1].isspace():
                out.append(ZERO_WIDTH_SPACE)
            out.append(f'<span class="nw">{term.group(0)}</span>')
            if end < len(text) and log_attrs[end].is_line_break and not text[end].isspace():
                out.append(ZERO_WIDTH_SPACE)
            last = end
        out.append(text[last:])
        return ">" + "".join(out) + "<"

    parts = _SVG.split(body)
    parts[::2] = [_TEXT_NODE.sub(wrap_terms, part) for part in parts[::2]]
    return head + body_tag + "".join(parts)


def render_html(template_name, context):
    return keep_terms_together(render_to_string(template_name, {"font_dir": FONT_DIR.as_uri(), **context}))


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
