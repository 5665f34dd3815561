"""Text cells that a spreadsheet would run as formulas (OWASP "CSV injection").

Excel and LibreOffice read a cell beginning with = + - @ (or a tab or carriage return before
one) as a formula: `=HYPERLINK("http://…")` in an agency's name becomes a live link in every
exported file. Imports refuse such text (`formula_problem`); every CSV/XLSX export passes its
cells through `neutralise_formula`, which keeps the text and prefixes it with an apostrophe,
so the spreadsheet shows it as text."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_MESSAGE = "ต้องไม่ขึ้นต้นด้วยเครื่องหมาย = + - @ หรือแท็บ เพราะโปรแกรมตารางคำนวณจะอ่านเป็นสูตร"


def formula_problem(text):
    """The Thai reason `text` would run as a spreadsheet formula, or None."""
    if isinstance(text, str) and text.startswith(FORMULA_STARTS):
        return FORMULA_MESSAGE
    return None


def neutralise_formula(value):
    """A cell value safe to write to CSV or XLSX: text that would start a formula gets a
    leading apostrophe; numbers, dates and other text are returned unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def neutralise_row(row):
    return tuple(neutralise_formula(value) for value in row)
