"""Word copies (.docx, python-docx) of the documents: a new A4 document with Thai styles,
headings, paragraphs, tables and charts, and bytes → HTTP response.

The Word copy is for an agency that must adapt wording (for its council, say) without
retyping; the PDF stays the document of record. Every text and figure comes from the same
context builder the PDF uses: nothing is computed here.

Thai is a complex script for Word: a run's Thai characters take the `w:cs` font, the
`w:szCs` size and `w:bCs` bold, not the Latin ones. Styles therefore set all four font slots
(ascii, hAnsi, eastAsia, cs) to Sarabun, the family the PDFs embed (static/fonts), and both
sizes; the theme font attributes are removed, as Word would let them win."""

import hashlib
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.core.cache import cache
from django.http import HttpResponse
from django.utils.http import content_disposition_header

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
FONT = "Sarabun"
BODY_PT = 16
TABLE_PT = 14
SMALL_PT = 12
HEADING_PT = {0: 20, 1: 18, 2: 17, 3: 16}
# ระเบียบงานสารบรรณ margins, as reports/base.html: top 2.5 cm, left 3 cm, right and bottom 2 cm.
MARGINS_CM = {"top": 2.5, "bottom": 2, "left": 3, "right": 2}
LANDSCAPE_MARGINS_CM = {"top": 2, "bottom": 2, "left": 2.5, "right": 2}
SHADE = "E8E8E8"
GROUP_SHADE = "F2F2F2"
CHART_CACHE_SECONDS = 300
_THEME_ATTRS = ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme")


class Group(str):
    """A table row that spans every column: a tool, a band or an indicator heading."""


def _qn(tag):
    from docx.oxml.ns import qn

    return qn(tag)


# The schema order of a run's properties (CT_RPr): Word refuses a file whose rPr is out of order.
_RPR_ORDER = (
    "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline", "shadow",
    "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing", "w", "kern",
    "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText", "vertAlign", "rtl", "cs", "em",
    "lang", "eastAsianLayout", "specVanish", "oMath",
)


def _child(parent, tag, order=_RPR_ORDER):
    """The `w:<tag>` child of parent, created in schema order when missing."""
    from docx.oxml import OxmlElement

    element = parent.find(_qn(f"w:{tag}"))
    if element is not None:
        return element
    element = OxmlElement(f"w:{tag}")
    later = set(order[order.index(tag) + 1:])
    for index, existing in enumerate(parent):
        if existing.tag.rpartition("}")[2] in later:
            parent.insert(index, element)
            break
    else:
        parent.append(element)
    return element


def _rpr(element):
    """The w:rPr of a style, run or w:rPrDefault, created when missing (python-docx's
    own method for styles and runs puts it in schema order)."""
    if hasattr(element, "get_or_add_rPr"):
        return element.get_or_add_rPr()
    rpr = element.find(_qn("w:rPr"))
    if rpr is None:
        from docx.oxml import OxmlElement

        rpr = OxmlElement("w:rPr")
        element.append(rpr)
    return rpr


def set_font(element, *, size=None, bold=None):
    """Sarabun in every font slot (Latin, East Asian and complex script), with the size
    and bold set for both Latin (w:sz, w:b) and complex script (w:szCs, w:bCs)."""
    rpr = _rpr(element)
    fonts = _child(rpr, "rFonts")
    for attr in _THEME_ATTRS:
        fonts.attrib.pop(_qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(_qn(f"w:{attr}"), FONT)
    if bold is not None:
        for tag in ("b", "bCs"):
            _child(rpr, tag).set(_qn("w:val"), "1" if bold else "0")
    if size is not None:
        for tag in ("sz", "szCs"):
            _child(rpr, tag).set(_qn("w:val"), str(int(size * 2)))
    return rpr


def _thai_language(rpr):
    lang = _child(rpr, "lang")
    lang.set(_qn("w:val"), "th-TH")
    lang.set(_qn("w:eastAsia"), "th-TH")
    lang.set(_qn("w:bidi"), "th-TH")


def _style_fonts(document):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt, RGBColor

    defaults = document.styles.element.find(_qn("w:docDefaults"))
    if defaults is not None:
        rpr_default = defaults.find(_qn("w:rPrDefault"))
        if rpr_default is not None:
            _thai_language(set_font(rpr_default, size=BODY_PT))
    normal = document.styles["Normal"]
    _thai_language(set_font(normal.element, size=BODY_PT))
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.0
    for level, size in HEADING_PT.items():
        style = document.styles["Title" if level == 0 else f"Heading {level}"]
        set_font(style.element, size=size, bold=True)
        style.font.color.rgb = RGBColor(0, 0, 0)
        style.font.italic = False
        style.paragraph_format.space_before = Pt(10 if level <= 2 else 6)
        style.paragraph_format.space_after = Pt(4)
        style.paragraph_format.keep_with_next = True
        if level == 0:
            _no_title_border(style)
    for name in ("Table Grid", "Header", "Footer"):
        if name in [s.name for s in document.styles]:
            style = document.styles[name]
            if style.type in (WD_STYLE_TYPE.PARAGRAPH, WD_STYLE_TYPE.TABLE):
                set_font(style.element)


def _no_title_border(style):
    ppr = style.element.find(_qn("w:pPr"))
    if ppr is not None:
        border = ppr.find(_qn("w:pBdr"))
        if border is not None:
            ppr.remove(border)


_SECTPR_ORDER = (
    "headerReference", "footerReference", "footnotePr", "endnotePr", "type", "pgSz", "pgMar", "paperSrc",
    "pgBorders", "lnNumType", "pgNumType", "cols", "formProt", "vAlign", "noEndnote", "titlePg", "textDirection",
    "bidi", "rtlGutter", "docGrid", "printerSettings", "sectPrChange",
)


def _page_setup(section, *, landscape=False):
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    width, height = Cm(21), Cm(29.7)
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    margins = LANDSCAPE_MARGINS_CM if landscape else MARGINS_CM
    section.top_margin = Cm(margins["top"])
    section.bottom_margin = Cm(margins["bottom"])
    section.left_margin = Cm(margins["left"])
    section.right_margin = Cm(margins["right"])
    section.header_distance = Cm(1.2)
    # Page numbers in Thai digits, as the PDFs print them ("- ๒ -").
    _child(section._sectPr, "pgNumType", _SECTPR_ORDER).set(_qn("w:fmt"), "thaiNumbers")


def _page_number_header(section):
    """ "- ๒ -" centred at the top; the first page has none (different first page)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement

    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, "- ", size=14)
    # A PAGE field, one run per part as Word writes it; the section's pgNumType makes it Thai.
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "๑"), ("end", None)):
        run = _run(paragraph, "", size=14)
        if kind:
            element = OxmlElement("w:fldChar")
            element.set(_qn("w:fldCharType"), kind)
        elif text == " PAGE ":
            element = OxmlElement("w:instrText")
            element.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            element.text = text
        else:
            element = OxmlElement("w:t")
            element.text = text
        run._r.append(element)
    _run(paragraph, " -", size=14)


def footer_text(footer, text):
    """A short centred line in a header or footer (12 pt)."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph = footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(paragraph, text, size=SMALL_PT)
    return paragraph


def new_document(*, title="", landscape=False):
    """An empty A4 document with Thai styles, Sarabun 16 pt body and Thai page numbers."""
    from docx import Document

    document = Document()
    _style_fonts(document)
    section = document.sections[0]
    _page_setup(section, landscape=landscape)
    _page_number_header(section)
    document.core_properties.title = title
    document.core_properties.language = "th-TH"
    document.core_properties.author = "ITA Portal"
    return document


def landscape_section(document):
    """Continue on a new page in A4 landscape (the wide tables), numbering continued."""
    from docx.enum.section import WD_SECTION

    section = document.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(section, landscape=True)
    section.different_first_page_header_footer = False
    return section


def portrait_section(document):
    from docx.enum.section import WD_SECTION

    section = document.add_section(WD_SECTION.NEW_PAGE)
    _page_setup(section, landscape=False)
    section.different_first_page_header_footer = False
    return section


def _run(paragraph, text, *, bold=None, size=None, italic=None, superscript=False):
    run = paragraph.add_run(text)
    if bold is not None or size is not None:
        set_font(run._r, size=size, bold=bold)
    if italic is not None:
        run.italic = italic
    if superscript:
        run.font.superscript = True
    return run


def _add_text(paragraph, text, **kwargs):
    """Text with its line breaks kept as Word line breaks (the PDFs' white-space: pre-line)."""
    if text is None or text == "":
        return  # no empty run: python-docx merges an empty cell without leaving a blank line
    lines = str(text).replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines):
        run = _run(paragraph, line, **kwargs)
        if number < len(lines) - 1:
            run.add_break()


def heading(document, text, level=1, *, center=False):
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    paragraph = document.add_heading("", level=level)
    _add_text(paragraph, text)
    if center or level == 0:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return paragraph


def paragraph(document, text="", *, bold=None, center=False, indent=False, size=None, page_break_before=False,
              space_before=None):
    """A paragraph; `indent` is the official first-line indent of 2.5 cm."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    p = document.add_paragraph()
    _add_text(p, text, bold=bold, size=size)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if indent:
        p.paragraph_format.first_line_indent = Cm(2.5)
    if page_break_before:
        p.paragraph_format.page_break_before = True
    if space_before is not None:
        p.paragraph_format.space_before = Pt(space_before)
    return p


def page_break(document):
    from docx.enum.text import WD_BREAK

    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


def _shade(cell, fill):
    from docx.oxml import OxmlElement

    tc_pr = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(_qn("w:val"), "clear")
    shading.set(_qn("w:color"), "auto")
    shading.set(_qn("w:fill"), fill)
    tc_pr.append(shading)


_TRPR_ORDER = ("cnfStyle", "divId", "gridBefore", "gridAfter", "wBefore", "wAfter", "cantSplit", "trHeight",
               "tblHeader", "tblCellSpacing", "jc", "hidden")


def _row_flag(row, tag):
    """cantSplit (keep the row on one page) or tblHeader (repeat it on every page)."""
    _child(row._tr.get_or_add_trPr(), tag, _TRPR_ORDER)


def _fill(cell, text, *, bold=None, size=None, align=None):
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    p = cell.paragraphs[0]
    p.paragraph_format.space_after = 0
    _add_text(p, text, bold=bold, size=size)
    p.alignment = {"right": WD_ALIGN_PARAGRAPH.RIGHT, "center": WD_ALIGN_PARAGRAPH.CENTER}.get(
        align, WD_ALIGN_PARAGRAPH.LEFT
    )


def table(document, header, rows, *, widths_cm=None, align=None, size=TABLE_PT, keep_rows=True):
    """A bordered table: `header` (repeated on every page), then `rows`, each a list of
    cell texts or a `Group` (one shaded bold cell across the table). `align` gives each
    column "left", "right" or "center"; `keep_rows` keeps a row on one page."""
    from docx.shared import Cm

    columns = len(header)
    align = align or ["left"] * columns
    result = document.add_table(rows=0, cols=columns)
    result.style = document.styles["Table Grid"]
    result.autofit = widths_cm is None
    head = result.add_row()
    _row_flag(head, "tblHeader")
    _row_flag(head, "cantSplit")
    for cell, text in zip(head.cells, header, strict=True):
        _fill(cell, text, bold=True, size=size, align="center")
        _shade(cell, SHADE)
    for row in rows:
        added = result.add_row()
        if keep_rows:
            _row_flag(added, "cantSplit")
        if isinstance(row, Group):
            cell = added.cells[0].merge(added.cells[-1]) if columns > 1 else added.cells[0]
            _fill(cell, str(row), bold=True, size=size)
            _shade(cell, GROUP_SHADE)
            continue
        for index, (cell, text) in enumerate(zip(added.cells, row, strict=True)):
            _fill(cell, text, size=size, align=align[index])
    if widths_cm:
        for row in result.rows:
            for cell, width in zip(row.cells, widths_cm, strict=True):
                cell.width = Cm(width)
    document.add_paragraph().paragraph_format.space_after = 0
    return result


def chart_png(svg):
    """An SVG chart (assessments.charts) as PNG bytes for Word, drawn by WeasyPrint in
    Sarabun and rasterised by poppler's pdftoppm; None when pdftoppm is not installed
    (the Word copy then goes without the chart rather than failing)."""
    if not svg or shutil.which("pdftoppm") is None:
        return None
    # The same chart (same SVG) is drawn once per cache period, as render_pdf does for PDFs.
    key = "docx-chart:" + hashlib.sha256(svg.encode()).hexdigest()
    png = cache.get(key)
    if png is None:
        png = _draw_chart(svg)
        if png is not None:
            cache.set(key, png, CHART_CACHE_SECONDS)
    return png


def _draw_chart(svg):
    from ita_portal.pdf import FONT_DIR, html_to_pdf

    size = re.search(r'<svg[^>]*\bwidth="(\d+)"[^>]*\bheight="(\d+)"', svg)
    height_cm = round(17 * int(size[2]) / int(size[1]), 2) if size else 8.5
    html = (
        "<style>"
        f'@font-face {{ font-family: "Sarabun"; src: url("{FONT_DIR.as_uri()}/Sarabun-Regular.ttf"); }}'
        f'@font-face {{ font-family: "Sarabun"; font-weight: 700; src: url("{FONT_DIR.as_uri()}/Sarabun-Bold.ttf"); }}'
        f"@page {{ size: 17cm {height_cm}cm; margin: 0 }}"
        " html, body { margin: 0 } svg { display: block; width: 17cm; height: auto }"
        f"</style>{svg}"
    )
    pdf = html_to_pdf(html)
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "chart.pdf"
        source.write_bytes(pdf)
        try:
            subprocess.run(
                ["pdftoppm", "-png", "-r", "150", "-singlefile", str(source), str(Path(tmp) / "chart")],
                check=True, capture_output=True, timeout=60,
            )
        except (subprocess.SubprocessError, OSError):
            return None
        return (Path(tmp) / "chart.png").read_bytes()


def picture(document, png, *, width_cm=16):
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    if not png:
        return None
    document.add_picture(io.BytesIO(png), width=Cm(width_cm))
    document.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    return document.paragraphs[-1]


def docx_bytes(document):
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def docx_response(data, filename):
    """The .docx as a download. A Thai file name travels as RFC 6266 `filename*`, with
    an ASCII `filename` beside it for clients that do not read the former."""
    response = HttpResponse(data, content_type=CONTENT_TYPE)
    header = content_disposition_header(True, filename)
    if "filename*=" in header:
        fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename)
        header = header.replace("attachment;", f'attachment; filename="{fallback}";', 1)
    response["Content-Disposition"] = header
    response["Content-Length"] = str(len(data))
    return response
