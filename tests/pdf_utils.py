"""Reading rendered PDFs in tests.

pypdf extracts Thai from WeasyPrint PDFs lossily (HarfBuzz splits sara am; a glyph
maps to text once per font), so Thai words are compared after `normalise`: NFKC,
tone marks and nikhahit dropped, whitespace removed. Thai digits extract exactly."""

import io
import logging
import re
import unicodedata
from contextlib import contextmanager

from pypdf import PdfReader

DROPPED = dict.fromkeys([0x0E48, 0x0E49, 0x0E4A, 0x0E4B, 0x0E4D])


def normalise(text):
    text = unicodedata.normalize("NFKC", text).translate(DROPPED)
    # sara am may come out as sara aa (or the reverse); compare them as one letter
    text = text.replace("\u0e33", "\u0e32")
    return re.sub(r"\s+", "", text)


def pdf_text(data):
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pdf_pages(data):
    return len(PdfReader(io.BytesIO(data)).pages)


def contains(data_or_text, phrase):
    text = pdf_text(data_or_text) if isinstance(data_or_text, bytes) else data_or_text
    return normalise(phrase) in normalise(text)


def embedded_fonts(data):
    reader = PdfReader(io.BytesIO(data))
    names = set()
    for page in reader.pages:
        fonts = (page.get("/Resources") or {}).get("/Font") or {}
        for font in fonts.values():
            names.add(str(font.get_object().get("/BaseFont")))
    return names


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextmanager
def weasyprint_warnings():
    """Collect WeasyPrint's warnings (".notdef glyph rendered" means Thai fell back to boxes)."""
    handler = _Collect()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def pdftotext(data, *, layout=False):
    """Text of a PDF as poppler's `pdftotext` gives it (what copy and search give), NFC."""
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        args = ["pdftotext", "-enc", "UTF-8", *(["-layout"] if layout else []), f.name, "-"]
        out = subprocess.run(args, capture_output=True, check=True).stdout.decode()
    return unicodedata.normalize("NFC", out)
