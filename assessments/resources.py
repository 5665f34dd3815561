"""Tabular import and export of the official ITA scores the NACC publishes.

Two layouts, told apart by the header row:

- long, one row per figure: agency_code, agency_name, agency_type, province, district, fiscal_year,
  item, score, or the Thai headers an export writes (รหัสหน่วยงาน, ชื่อหน่วยงาน, ประเภท, จังหวัด,
  อำเภอ, ปีงบประมาณ, รายการ, คะแนน). `item` is a framework code of that fiscal year (overall, IIT, 7,
  9.1, i3, e4, O12), matched without regard to case, or an EIT question with its part (e4:public,
  e4:survey).
- wide, one row per agency and fiscal year: the agency columns, then one column per item, headed
  by its code (overall, IIT, 1 … 10, 9.1, i1, e4:public) or by its Thai name in that year's
  framework (การปฏิบัติหน้าที่, ตัวชี้วัดที่ 1 การปฏิบัติหน้าที่). An empty cell is no figure.

Only agency_code and fiscal_year (plus item and score in the long layout) are required; the name,
type, province and district are read only to create an agency the database does not know yet.
Files are CSV (UTF-8, BOM accepted) or .xlsx. Spreadsheet numbers arrive as floats and go to
Decimal through their shortest repr, so 92.27 stays Decimal("92.27") and 92.275 is still refused.

An import is all or nothing. `score_import_plan` reads and checks every figure first, with a
handful of queries whatever the size of the file, and collects every problem in Thai, naming the
row as a spreadsheet numbers it (header = row 1) and the column as the file heads it. Only a file
without a single problem is written, by `score_import_write`, in one transaction of bulk
statements: new agencies, the new assessments and an upsert of the existing ones it changes,
with their derived summary (overall, level, urgent count) computed in Python, an insert of the
new scores and an upsert of the changed ones. On PostgreSQL the plain inserts are COPYs, their
ids drawn from the tables' sequences first (models._copy: cheaper than the parameters of
multi-row INSERTs); on SQLite multi-row INSERTs.

Audit trail: bulk statements bypass django-simple-history's signals, so the import writes the
score history itself, in bulk: one historical row per new or changed score (old and new value,
who, when, its ImportBatch), none for an unchanged one (models.scores_insert_with_history for
the new scores: COPYed beside them on PostgreSQL, copied by the database from the inserted rows
on SQLite; models.record_score_changes for the changed ones, with the old value).
Every import also writes one ImportBatch (who, when, the file's SHA-256, the counts and the
problems); the admin keeps the file itself.
Assessments' historical rows are not written by an import (their summary fields are derived).
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import itertools
import logging
import os
import re
import zipfile
from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from import_export import resources, widgets
from import_export.fields import Field
from import_export.results import Error, RowResult

from assessments import scoring
from assessments.models import (
    AGENCY_CODE_MESSAGE,
    AGENCY_CODE_PATTERN,
    Agency,
    Assessment,
    FiscalYear,
    FrameworkItem,
    ImportBatch,
    Membership,
    Score,
    agencies_for,
    framework_nodes,
    instances_insert,
    level_rule_specs,
    record_score_changes,
    scores_insert_with_history,
    scores_update,
)
from ita_portal.spreadsheets import FORMULA_MESSAGE, formula_problem, neutralise_row

logger = logging.getLogger(__name__)

COLUMNS = (
    "agency_code", "agency_name", "agency_type", "province", "district", "fiscal_year", "item", "score",
)
THAI_HEADERS = {
    "agency_code": "รหัสหน่วยงาน",
    "agency_name": "ชื่อหน่วยงาน",
    "agency_type": "ประเภท",
    "province": "จังหวัด",
    "district": "อำเภอ",
    "fiscal_year": "ปีงบประมาณ",
    "item": "รายการ",
    "score": "คะแนน",
}
THAI_COLUMNS = tuple(THAI_HEADERS[c] for c in COLUMNS)
LONG, WIDE = "long", "wide"
# Columns a wide file may carry besides the agency and the scores (a published table has them).
IGNORED_WIDE_HEADERS = {"ลำดับ", "ลำดับที่", "no", "no.", "#", "ระดับ", "ระดับผลการประเมิน", "level", "หมายเหตุ", "notes"}

AGENCY_TYPES = {
    **{value: value for value in Agency.Type.values},
    **{str(label): value for value, label in Agency.Type.choices},
    "อบต.": Agency.Type.SAO,
    "องค์การบริหารส่วนตำบล": Agency.Type.SAO,
    "ทต.": Agency.Type.SUBDISTRICT_MUNICIPALITY,
    "เทศบาลตำบล": Agency.Type.SUBDISTRICT_MUNICIPALITY,
    "ทม.": Agency.Type.TOWN_MUNICIPALITY,
    "เทศบาลเมือง": Agency.Type.TOWN_MUNICIPALITY,
    "ทน.": Agency.Type.CITY_MUNICIPALITY,
    "เทศบาลนคร": Agency.Type.CITY_MUNICIPALITY,
    "อบจ.": Agency.Type.PAO,
    "องค์การบริหารส่วนจังหวัด": Agency.Type.PAO,
}
AGENCY_TYPE_HINT = "sao, tambon, mueang, nakhon, pao, other หรือ อบต., ทต., ทม., ทน., อบจ."
# How an export writes the type: short, Thai, and read back by agency_type_of.
AGENCY_TYPE_SHORT = {
    Agency.Type.SAO: "อบต.",
    Agency.Type.SUBDISTRICT_MUNICIPALITY: "ทต.",
    Agency.Type.TOWN_MUNICIPALITY: "ทม.",
    Agency.Type.CITY_MUNICIPALITY: "ทน.",
    Agency.Type.PAO: "อบจ.",
    Agency.Type.OTHER: str(Agency.Type.OTHER.label),
}

PARTS = {
    "public": Score.Part.PUBLIC,
    "eitpublic": Score.Part.PUBLIC,
    "survey": Score.Part.SURVEY,
    "eitsurvey": Score.Part.SURVEY,
}

ARABIC_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
CENT = Decimal("0.01")
SPACES = re.compile(r"\s+")
# Rows per IN (…) list and per assessment chunk: under SQLite's 999 variables.
CHUNK = 900
# At most this many problems are kept on an ImportBatch and listed on a page.
LISTED_PROBLEMS = 1000
SAMPLE_SIZE = 50
PROGRESS_EVERY = 5000
ITEM_HINT = "overall, IIT, 1, 9.1, i1, e4:public, O12"
AGENCY_CODE_RE = re.compile(AGENCY_CODE_PATTERN)
# Text an import stores (for a new agency): a formula here would run in every export's reader.
TEXT_COLUMNS = (("agency_name", "ชื่อหน่วยงาน"), ("province", "ชื่อจังหวัด"), ("district", "ชื่ออำเภอ"))


def cell_text(value):
    """A cell as the text the user typed, stripped."""
    if value is None:
        return ""
    if isinstance(value, float):
        # Spreadsheet cells arrive as float; the shortest repr is the figure as typed
        # (92.27, not 92.26999…), and it goes straight to Decimal from there.
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def parse_score(raw):
    """A published score from a file cell as Decimal(…, 2 places); ValueError with a Thai
    reason otherwise. The rule is scoring.parse_score, the score page's too; here a figure
    is required (the wide layout skips empty cells before asking)."""
    value = scoring.parse_score(cell_text(raw))
    if value is None:
        raise ValueError("ต้องระบุคะแนน")
    return value


def agency_type_of(text):
    """Agency.Type value for a choice value or a Thai name/abbreviation; empty → other; unknown → None."""
    if not text:
        return Agency.Type.OTHER
    return AGENCY_TYPES.get(text.lower()) or AGENCY_TYPES.get(text.replace(" ", ""))


def header_key(text):
    """A header or item name reduced for matching: no spaces, Arabic digits, lower case."""
    return SPACES.sub("", cell_text(text).lstrip("\ufeff").translate(ARABIC_DIGITS)).lower()


HEADER_ALIASES = {
    **{header_key(c): c for c in COLUMNS},
    **{header_key(thai): c for c, thai in THAI_HEADERS.items()},
    header_key("ประเภทหน่วยงาน"): "agency_type",
    header_key("ปีงบประมาณ (พ.ศ.)"): "fiscal_year",
    header_key("ปี พ.ศ."): "fiscal_year",
}


def column_letter(index):
    """Spreadsheet letter of a 0-based column index: 0 → A, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def chunked(iterable, size=CHUNK):
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


@dataclass(frozen=True)
class ImportProblem:
    """One reason a file is refused: the row as a spreadsheet numbers it (None for the whole
    file), the column as the file heads it, and the reason in Thai."""

    row: int | None
    reason: str
    column: str = ""
    index: int | None = None  # 0-based column, for the spreadsheet letter

    @property
    def letter(self):
        return column_letter(self.index) if self.index is not None else ""

    def __str__(self):
        if self.row is None:
            return self.reason
        if self.row == 1:
            where = f" คอลัมน์ {self.column} ({self.letter})" if self.column else ""
            return f"แถวที่ 1 (หัวตาราง){where}: {self.reason}"
        if self.column:
            return f"แถวที่ {self.row} คอลัมน์ {self.column}: {self.reason}"
        return f"แถวที่ {self.row}: {self.reason}"

    def as_json(self):
        return {"row": self.row, "column": self.column, "letter": self.letter, "reason": self.reason,
                "text": str(self)}


# Reading files, within limits
#
# A file is hostile until read: a workbook of a few MB can inflate to gigabytes and ten
# million rows, a CSV can hold one 100 MB cell. Every limit below is checked while the file
# is read, before the work it would cost, and refused with a Thai message naming it.

MIB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """What an import file may hold (settings IMPORT_MAX_*). The defaults admit the national
    question-level file in the long layout (8,317 agencies × 61 figures = 507,337 rows: about
    80 MB as CSV, 18 MB as .xlsx inflating to 370 MB at a ratio of 20 when openpyxl writes it)."""

    file_bytes: int = 128 * MIB
    rows: int = 600_000
    columns: int = 200
    cell_chars: int = 1000
    line_chars: int = 64 * 1024
    xlsx_inflated_bytes: int = 512 * MIB
    xlsx_ratio: int = 100
    xlsx_members: int = 200

    @classmethod
    def from_settings(cls):
        defaults = cls()
        return cls(**{
            name: getattr(settings, f"IMPORT_MAX_{name.upper()}", getattr(defaults, name))
            for name in cls.__dataclass_fields__
        })


def megabytes(size):
    return f"{size / MIB:,.0f} MB" if size >= MIB else f"{size / 1024:,.0f} KB"


def file_size_problem(size, limits=None):
    """The Thai refusal of a file of `size` bytes, or None."""
    limits = limits or FileLimits.from_settings()
    if size > limits.file_bytes:
        return (
            f"ไฟล์ใหญ่เกินกำหนด: นำเข้าได้ไม่เกิน {megabytes(limits.file_bytes)} ต่อไฟล์"
            f" (ไฟล์นี้ {megabytes(size)}) ให้แบ่งเป็นหลายไฟล์"
        )
    return None


def _refuse_size(size):
    problem = file_size_problem(size)
    if problem:
        raise ValidationError(problem)


@dataclass
class ScoreFile:
    """An uploaded or given file, as bytes; `table()` reads it as (header, numbered rows)."""

    name: str
    data: bytes

    @classmethod
    def read(cls, source):
        """From a path, bytes, or a file-like object (an upload included); a file over
        IMPORT_MAX_FILE_BYTES is refused before it is read."""
        if isinstance(source, ScoreFile):
            return source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                _refuse_size(path.stat().st_size)
                return cls(path.name, path.read_bytes())
            except OSError:
                raise ValidationError(f"เปิดไฟล์ {source} ไม่ได้") from None
        if isinstance(source, (bytes, bytearray)):
            _refuse_size(len(source))
            return cls("", bytes(source))
        name = os.path.basename(str(getattr(source, "name", "") or ""))
        size = getattr(source, "size", None)
        if size is not None:
            _refuse_size(size)
        data = b"".join(source.chunks()) if hasattr(source, "chunks") else source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        _refuse_size(len(data))
        return cls(name, data)

    @property
    def sha256(self):
        return hashlib.sha256(self.data).hexdigest()

    @property
    def is_xlsx(self):
        return self.name.lower().endswith(".xlsx") or self.data[:4] == b"PK\x03\x04"

    def table(self, limits=None):
        """(header cells, iterator of (row number, cells)); ValidationError if unreadable or
        past a limit (while the rows are read, for the limits on rows, columns and cells)."""
        limits = limits or FileLimits.from_settings()
        return _xlsx_table(self.data, limits) if self.is_xlsx else _csv_table(self.data, limits)


def _row_limits(limits):
    """A check of one row's size (number, cells), raising ValidationError past a limit."""
    max_rows, max_columns, max_chars = limits.rows, limits.columns, limits.cell_chars

    def check(number, cells):
        if number - 1 > max_rows:
            raise ValidationError(
                f"ไฟล์มีข้อมูลเกิน {max_rows:,} แถว ซึ่งเป็นจำนวนแถวสูงสุดที่นำเข้าได้ต่อไฟล์ ให้แบ่งเป็นหลายไฟล์"
            )
        if len(cells) > max_columns:
            raise ValidationError(
                f"แถวที่ {number} มี {len(cells):,} คอลัมน์ เกิน {max_columns:,} คอลัมน์ ซึ่งเป็นจำนวนสูงสุดที่นำเข้าได้"
            )
        for index, cell in enumerate(cells):
            if type(cell) is str and len(cell) > max_chars:
                where = "หัวตาราง" if number == 1 else f"แถวที่ {number}"
                raise ValidationError(
                    f"{where} คอลัมน์ {column_letter(index)}: ข้อความในช่องยาว {len(cell):,} ตัวอักษร"
                    f" เกิน {max_chars:,} ตัวอักษร ซึ่งเป็นความยาวสูงสุดของหนึ่งช่อง"
                )

    return check


XLSX_UNREADABLE = "อ่านไฟล์ .xlsx ไม่ได้ (ไฟล์เสียหรือไม่ใช่ไฟล์ Excel)"
XML_DECLARATIONS = (b"<!DOCTYPE", b"<!ENTITY")


class _InflatedStream:
    """A member of the workbook as it inflates, counting every byte against the workbook's
    budget (the sizes a zip declares are not trusted) and refusing the XML declarations a
    spreadsheet never needs (entity expansion)."""

    def __init__(self, raw, archive):
        self.raw, self.archive, self.tail = raw, archive, b""

    def read(self, size=-1):
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1024 * 1024), b""))
        data = self.raw.read(size)
        self.archive.count(len(data))
        window = self.tail + data
        if any(declaration in window for declaration in XML_DECLARATIONS):
            raise ValidationError("ไฟล์ .xlsx มีการประกาศ DOCTYPE หรือ ENTITY ซึ่งไฟล์ Excel ไม่มี จึงไม่อ่านไฟล์นี้")
        self.tail = data[-16:]
        return data

    def readable(self):
        return True

    def close(self):
        self.raw.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _GuardedZip(zipfile.ZipFile):
    """The workbook's zip, checked from its directory before anything inflates (number of
    members, declared inflated size, ratio) and counted while it inflates."""

    def __init__(self, data, limits):
        super().__init__(io.BytesIO(data))
        self.limits, self.inflated = limits, 0
        members = self.infolist()
        if len(members) > limits.xlsx_members:
            raise ValidationError(f"ไฟล์ .xlsx มีส่วนประกอบ {len(members):,} ส่วน เกิน {limits.xlsx_members:,} ส่วน")
        declared = sum(member.file_size for member in members)
        if declared > limits.xlsx_inflated_bytes:
            raise self.too_large()
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > MIB and ratio > limits.xlsx_ratio:
                raise ValidationError(
                    f"ไฟล์ .xlsx ถูกบีบอัดมากผิดปกติ: ส่วน {member.filename} ขยายได้ {ratio:,.0f} เท่า"
                    f" เกิน {limits.xlsx_ratio:,} เท่า ซึ่งไฟล์ Excel ทั่วไปไม่ถึง จึงไม่อ่านไฟล์นี้"
                )

    def too_large(self):
        return ValidationError(
            f"ไฟล์ .xlsx เมื่อคลายการบีบอัดแล้วใหญ่เกิน {megabytes(self.limits.xlsx_inflated_bytes)}"
            " ซึ่งเป็นขนาดสูงสุดที่อ่านได้ ให้แบ่งเป็นหลายไฟล์ หรือบันทึกเป็น CSV"
        )

    def count(self, size):
        self.inflated += size
        if self.inflated > self.limits.xlsx_inflated_bytes:
            raise self.too_large()

    def open(self, name, mode="r", pwd=None, **kwargs):
        stream = super().open(name, mode, pwd, **kwargs)
        return _InflatedStream(stream, self) if mode == "r" else stream


def _streaming_reader(data, archive):
    """openpyxl's workbook loader, read-only, reading every part through `archive`; its
    sheets skip openpyxl's size probe, which scans a whole sheet that declares no dimension
    (twice the work on every file, and all of a bomb's)."""
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    class StreamingSheet(ReadOnlyWorksheet):
        def _get_size(self):
            pass  # no declared dimension: rows come as long as their cells

    class StreamingReader(ExcelReader):
        def read_worksheets(self):
            for sheet, rel in self.parser.find_sheets():
                if rel.target in self.valid_files and "chartsheet" not in rel.Type:
                    worksheet = StreamingSheet(self.wb, sheet.name, rel.target, self.shared_strings)
                    worksheet.sheet_state = sheet.state
                    self.wb._sheets.append(worksheet)

    reader = StreamingReader(io.BytesIO(data), read_only=True, data_only=True)
    reader.archive.close()
    reader.archive = archive
    return reader


def _xlsx_table(data, limits):
    try:
        archive = _GuardedZip(data, limits)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise ValidationError(XLSX_UNREADABLE) from None
    try:
        # Read-only: rows stream from the sheet's XML. The shared strings load here, counted.
        reader = _streaming_reader(data, archive)
        reader.read()
        sheet = reader.wb.active
        # The dimension a file declares is not read: "A1:XFD1048576" would pad every row
        # to 16,384 cells. Rows come as long as their last cell; _fit pads them.
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
    except ValidationError:
        archive.close()
        raise
    except Exception:
        archive.close()
        raise ValidationError(XLSX_UNREADABLE) from None
    if header is None:
        archive.close()
        raise ValidationError("ไฟล์ว่าง ไม่มีหัวตาราง")
    check = _row_limits(limits)
    check(1, header)

    def numbered():
        try:
            # Read-only openpyxl yields an empty tuple for a missing row, so numbers stay true.
            for number, cells in enumerate(rows, 2):
                check(number, cells)
                yield number, cells
        except ValidationError:
            raise
        except Exception:
            raise ValidationError(XLSX_UNREADABLE) from None
        finally:
            archive.close()

    return list(header), numbered()


NOT_UTF8 = "ไฟล์ต้องเข้ารหัส UTF-8 (ใน Excel ให้บันทึกเป็น CSV UTF-8)"


def _csv_table(data, limits):
    """A CSV read line by line, each line read at most IMPORT_MAX_LINE_CHARS characters far
    (a file of one endless line is refused after that much), cells checked as they come."""
    stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    max_line = limits.line_chars
    line_number = 0

    def lines():
        nonlocal line_number
        while True:
            try:
                line = stream.readline(max_line + 1)
            except UnicodeDecodeError:
                raise ValidationError(NOT_UTF8) from None
            if not line:
                return
            line_number += 1
            if len(line) > max_line:
                raise ValidationError(
                    f"บรรทัดที่ {line_number} ของไฟล์ยาวเกิน {max_line:,} ตัวอักษร"
                    " ซึ่งเป็นความยาวสูงสุดของหนึ่งบรรทัด"
                )
            yield line

    source = lines()
    first = next(source, "")
    if not first.strip():
        raise ValidationError("ไฟล์ว่าง ไม่มีหัวตาราง")
    # Excel in some locales writes ; or tab between cells.
    delimiter = ","
    if "," not in first:
        delimiter = ";" if ";" in first else ("\t" if "\t" in first else ",")
    reader = csv.reader(itertools.chain([first], source), delimiter=delimiter)
    check = _row_limits(limits)
    max_rows, max_columns, max_chars = limits.rows + 1, limits.columns, limits.cell_chars

    def unreadable(error):
        if "field larger than field limit" in str(error):
            # A quoted cell running over many lines, past csv's own limit (128 KiB).
            return ValidationError(
                f"บรรทัดที่ {line_number}: ข้อความในช่องยาวเกิน {limits.cell_chars:,} ตัวอักษร"
                " ซึ่งเป็นความยาวสูงสุดของหนึ่งช่อง"
            )
        return ValidationError(f"อ่านไฟล์ CSV ไม่ได้ ({error})")

    try:
        header = next(reader)
    except csv.Error as e:
        raise unreadable(e) from None
    check(1, header)

    def numbered():
        try:
            for number, cells in enumerate(reader, 2):
                # Every cell of a CSV row is text: a row whose cells hold no more characters in all
                # than one cell may is within the cell limit without a look at each cell.
                if number > max_rows or len(cells) > max_columns or sum(map(len, cells)) > max_chars:
                    check(number, cells)
                yield number, cells
        except csv.Error as e:
            raise unreadable(e) from None

    return header, numbered()


# The framework of a year, as headers and item cells name it


class YearFramework:
    """Resolves an item as a file names it: code (case-insensitive), `code:part`, Thai name, or
    label ("ตัวชี้วัดที่ 1 การปฏิบัติหน้าที่"); codes win over names, and a name two items share
    is refused as ambiguous."""

    AMBIGUOUS = object()

    def __init__(self, year, items):
        self.year = year
        self.keys = {}
        for item in items:
            self.keys[header_key(item.code)] = item
        for item in items:
            names = [item.name, item.label]
            if item.kind == FrameworkItem.Kind.INDICATOR:
                names.append(f"ตัวชี้วัดที่ {item.code}")
            elif item.kind == FrameworkItem.Kind.SUB_INDICATOR:
                names.append(f"ตัวชี้วัดย่อยที่ {item.code}")
            for key in {header_key(name) for name in names if name}:
                found = self.keys.get(key)
                if found is None:
                    self.keys[key] = item
                elif found is not item and header_key(found.code) != key:
                    self.keys[key] = self.AMBIGUOUS

    def resolve(self, text):
        """(item, part, None) or (None, "", Thai reason)."""
        item = self.keys.get(header_key(text))
        part = ""
        if item is None and ":" in text:
            code, _, part_text = text.rpartition(":")
            item = self.keys.get(header_key(code))
            if item is not None and item is not self.AMBIGUOUS:
                part = PARTS.get(header_key(part_text))
                if part is None:
                    return None, "", f"ส่วนของคะแนนต้องเป็น public หรือ survey (ได้ {text})"
                if not item.has_parts:
                    return None, "", f"รายการ {item.code} ไม่มีคะแนนแยกส่วน public/survey (ได้ {text})"
        if item is self.AMBIGUOUS:
            return None, "", f"ชื่อ {text} ตรงกับหลายรายการในปีงบประมาณ {self.year} ให้ใช้รหัสรายการแทน"
        if item is None:
            code = text.partition(":")[0].strip() or text
            return None, "", f"ไม่มีรายการ {code} ในกรอบการประเมินปีงบประมาณ {self.year}"
        return item, part, None


# The plan: every figure of a file, resolved and checked, before anything is written


@dataclass
class Change:
    """One figure the import adds or changes, for the preview's sample."""

    row: int
    agency_code: str
    agency_name: str
    year: int
    item: str
    old: Decimal | None
    new: Decimal


@dataclass
class ScoreImportPlan:
    """Every figure of a file resolved to (agency, fiscal year, item, part, value), with its problems.

    `figures` maps (agency code, year) → {(item id, part): (row, value)}, in file order."""

    file_name: str = ""
    layout: str = ""
    headers: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    rows: int = 0  # data rows with content
    blank_rows: int = 0
    figures: dict = field(default_factory=dict)
    fiscal_years: dict = field(default_factory=dict)  # year → FiscalYear
    items: dict = field(default_factory=dict)  # item id → FrameworkItem (every item of the years read)
    agency_ids: dict = field(default_factory=dict)  # code → pk, every agency in the database
    agency_names: dict = field(default_factory=dict)  # code → name
    new_agencies: dict = field(default_factory=dict)  # code → unsaved Agency
    assessment_ids: dict = field(default_factory=dict)  # (code, year) → pk, existing ones
    compared: bool = False
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    sample: list = field(default_factory=list)  # Change, first SAMPLE_SIZE in file order

    @property
    def errors(self):
        return [str(problem) for problem in self.problems]

    @property
    def figure_count(self):
        return sum(len(figures) for figures in self.figures.values())

    @property
    def assessments_new(self):
        return sum(1 for key in self.figures if key not in self.assessment_ids)

    def report(self, *, dry_run=True):
        return ImportReport(
            new=self.new,
            updated=self.updated,
            unchanged=self.unchanged,
            agencies_created=len(self.new_agencies),
            assessments_created=self.assessments_new,
            dry_run=dry_run,
        )


def score_import_plan(source, *, allowed_agency_ids=None, compare=True, progress=None):
    """Read and check every figure of `source` without writing anything.

    `source`: a ScoreFile, a path, bytes, an upload, or a tablib Dataset.
    `allowed_agency_ids`: None for every agency; otherwise a figure of any other agency, or of an
    agency not yet in the database, is a problem. `compare` also counts new / changed / unchanged
    figures against the database (the preview); `progress(figures_read)` is called as rows are read.
    Queries: agencies, fiscal years, the items of each year read, and with `compare` the
    assessments and scores of the file's agencies, in chunks."""
    if isinstance(source, tablib.Dataset):
        plan = ScoreImportPlan()
        header, rows = list(source.headers or []), enumerate(source, 2)
    else:
        score_file = ScoreFile.read(source)
        plan = ScoreImportPlan(file_name=score_file.name)
        try:
            header, rows = score_file.table()
        except ValidationError as e:
            plan.problems.extend(ImportProblem(None, message) for message in e.messages)
            return plan
    reader = _PlanReader(plan, header, allowed_agency_ids, progress)
    if plan.problems:
        return plan
    try:
        reader.read(rows)
    except ValidationError as e:
        # A limit (or an unreadable file) stops the reading: its reason comes first.
        plan.problems[:0] = [ImportProblem(None, message) for message in e.messages]
    if not plan.problems and not plan.figures:
        plan.problems.append(ImportProblem(None, "ไม่มีข้อมูลคะแนนในไฟล์ (มีแต่หัวตาราง)"))
    if not plan.problems and compare:
        _compare(plan)
    return plan


class _PlanReader:
    """One pass over the rows of a file, filling a ScoreImportPlan."""

    def __init__(self, plan, header, allowed_agency_ids, progress):
        self.plan = plan
        self.allowed = None if allowed_agency_ids is None else set(allowed_agency_ids)
        self.progress = progress
        self.read_count = 0  # figures read
        self.next_progress = PROGRESS_EVERY
        plan.headers = [cell_text(h).lstrip("\ufeff").strip() for h in header]
        self.width = len(plan.headers)
        self.columns = {}  # canonical name → index
        self.item_columns = []  # wide: (index, header)
        self.blank_headers = []
        self._read_header()
        # Caches: most cells repeat (years, types, items, "100.00").
        self.years = {}
        self.types = {}
        self.scores = {}
        self.item_cells = {}
        self.frameworks = {}
        self.wide_columns = {}

    # header

    def _read_header(self):
        plan, headers = self.plan, self.plan.headers
        repeated = []
        for index, text in enumerate(headers):
            key = header_key(text)
            column = HEADER_ALIASES.get(key)
            if column is not None:
                if column in self.columns:
                    repeated.append(text)
                else:
                    self.columns[column] = index
            elif not key:
                self.blank_headers.append(index)
            elif key not in IGNORED_WIDE_HEADERS:
                self.item_columns.append((index, text))
        plan.layout = LONG if ("item" in self.columns or "score" in self.columns) else WIDE
        required = ["agency_code", "fiscal_year"] + (["item", "score"] if plan.layout == LONG else [])
        missing = [f"{c} ({THAI_HEADERS[c]})" for c in required if c not in self.columns]
        if missing:
            plan.problems.append(ImportProblem(1, f"ไม่มีคอลัมน์ {', '.join(missing)}"))
        if repeated:
            plan.problems.append(ImportProblem(1, f"คอลัมน์ {', '.join(repeated)} ซ้ำกัน"))
        if plan.layout == WIDE:
            if not self.item_columns:
                plan.problems.append(ImportProblem(
                    1,
                    "ไม่มีคอลัมน์คะแนน: ใช้รูปแบบแถวละคะแนน (คอลัมน์ item และ score) หรือแถวละหน่วยงาน "
                    f"(หนึ่งคอลัมน์ต่อรายการ หัวคอลัมน์เป็นรหัสรายการ เช่น {ITEM_HINT} หรือชื่อตัวชี้วัด)",
                ))
        else:
            self.item_columns = []

    # rows

    def read(self, rows):
        plan = self.plan
        plan.fiscal_years = {fy.year: fy for fy in FiscalYear.objects.all()}
        for code, pk, name in Agency.objects.values_list("code", "pk", "name"):
            plan.agency_ids[code] = pk
            plan.agency_names[code] = name
        columns = self.columns
        self.i_code = columns["agency_code"]
        self.i_year = columns["fiscal_year"]
        self.i_type = columns.get("agency_type")
        self.i_item = columns.get("item")
        self.i_score = columns.get("score")
        # The cells _read_agency reads (see _read_row).
        self.agency_key = sorted({
            columns[name] for name in ("agency_code", "agency_name", "agency_type", "province", "district",
                                       "fiscal_year")
            if name in columns
        })
        self.agency_rows = {}
        width = self.width
        for number, cells in rows:
            if len(cells) != width:
                cells = self._fit(number, cells)
                if cells is None:
                    continue
            # A row whose agency code is filled is not blank (the common case, without a look at
            # every cell).
            first = cells[self.i_code]
            if not (type(first) is str and first and not first.isspace()) and not any(
                cell is not None and cell != "" and (not isinstance(cell, str) or cell.strip()) for cell in cells
            ):
                plan.blank_rows += 1
                continue
            plan.rows += 1
            problems = []
            self._read_row(number, cells, problems)
            for index in self.blank_headers:
                if cell_text(cells[index]):
                    problems.append(ImportProblem(
                        number, "มีข้อมูลในคอลัมน์ที่ไม่มีหัวตาราง", column_letter(index), index
                    ))
            if problems:
                problems.sort(key=lambda p: -1 if p.index is None else p.index)
                plan.problems.extend(problems)
            if self.progress is not None and self.read_count >= self.next_progress:
                self.progress(self.read_count)
                self.next_progress = self.read_count + PROGRESS_EVERY

    def _fit(self, number, cells):
        """Pad a short row; refuse a long one that has data past the header."""
        cells = list(cells)
        width = self.width
        if len(cells) < width:
            return cells + [None] * (width - len(cells))
        extra = [i for i in range(width, len(cells)) if cell_text(cells[i])]
        if extra:
            self.plan.rows += 1
            self.plan.problems.append(ImportProblem(
                number, f"มีข้อมูลเกินจำนวนคอลัมน์ของหัวตาราง ({width} คอลัมน์)", column_letter(extra[0]), extra[0]
            ))
            return None
        return cells[:width]

    def _problem(self, problems, number, column, reason):
        index = self.columns[column]
        problems.append(ImportProblem(number, reason, self.plan.headers[index], index))

    def _read_row(self, number, cells, problems):
        # The agency and year cells repeat on every row of an agency in the long layout (11 to
        # 61 rows each in a national file): cells already read without a problem are not read
        # again. Reading them is deterministic (an agency planned from the first row stays
        # planned), so a row with the same cells gets the same outcome.
        key = tuple([cells[index] for index in self.agency_key])
        known = self.agency_rows.get(key)
        if known is None:
            before = len(problems)
            known = self._read_agency(number, cells, problems)
            if len(problems) == before:
                self.agency_rows[key] = known
        code, year = known
        self._read_figures(number, cells, code, year, problems)

    def _read_agency(self, number, cells, problems):
        """(agency code, year) of a row, each None with its problem."""
        code = cell_text(cells[self.i_code])
        if not code:
            self._problem(problems, number, "agency_code", "ต้องระบุรหัสหน่วยงาน")
            code = None
        elif len(code) > 32:
            self._problem(problems, number, "agency_code", f"รหัสหน่วยงานยาวได้ไม่เกิน 32 ตัวอักษร (ได้ {code})")
            code = None
        elif not AGENCY_CODE_RE.match(code):
            self._problem(problems, number, "agency_code", f"{AGENCY_CODE_MESSAGE} (ได้ {code})")
            code = None
        for column, label in TEXT_COLUMNS:
            index = self.columns.get(column)
            if index is not None and formula_problem(cell_text(cells[index])):
                self._problem(problems, number, column, f"{label}{FORMULA_MESSAGE}")
                code = None

        agency_type = Agency.Type.OTHER
        if self.i_type is not None:
            raw_type = cells[self.i_type]
            agency_type = self.types.get(raw_type, False)
            if agency_type is False:
                agency_type = self.types[raw_type] = agency_type_of(cell_text(raw_type))
            if agency_type is None:
                self._problem(
                    problems, number, "agency_type",
                    f"ไม่รู้จักประเภทหน่วยงาน {cell_text(raw_type)} (ใช้ได้: {AGENCY_TYPE_HINT})",
                )

        year = self._year(number, cells[self.i_year], problems)

        if code is not None and not self._agency(number, code, cells, agency_type, problems):
            code = None
        return code, year

    def _read_figures(self, number, cells, code, year, problems):
        if self.plan.layout == LONG:
            self._long_figure(number, cells, code, year, problems)
        elif year is not None:
            self._wide_figures(number, cells, code, year, problems)
        else:
            # No year, so no framework to read the columns with: still check every value.
            for index, text in self.item_columns:
                if cell_text(cells[index]):
                    reason = self._score(cells[index])[1]
                    if reason:
                        problems.append(ImportProblem(number, reason, text, index))

    def _year(self, number, raw, problems):
        cached = self.years.get(raw)
        if cached is None:
            text = cell_text(raw).translate(ARABIC_DIGITS)
            if not text:
                cached = (None, "ต้องระบุปีงบประมาณ (พ.ศ.)")
            elif not text.isdigit():
                cached = (None, f"ปีงบประมาณต้องเป็นตัวเลขปี พ.ศ. เช่น 2568 (ได้ {cell_text(raw)})")
            elif int(text) not in self.plan.fiscal_years:
                hint = " (ใช้ปี พ.ศ. เช่น 2568)" if int(text) < 2400 else ""
                cached = (None, f"ไม่มีปีงบประมาณ {int(text)} ในระบบ{hint}")
            else:
                cached = (int(text), None)
            self.years[raw] = cached
        year, reason = cached
        if reason:
            self._problem(problems, number, "fiscal_year", reason)
        return year

    def _agency(self, number, code, cells, agency_type, problems):
        """Whether the row's agency may receive figures; a new one is planned from the row."""
        plan = self.plan
        pk = plan.agency_ids.get(code)
        if pk is not None:
            if self.allowed is not None and pk not in self.allowed:
                self._problem(problems, number, "agency_code", f"ไม่มีสิทธิ์นำเข้าคะแนนของหน่วยงานรหัส {code}")
                return False
            return True
        if code in plan.new_agencies:
            return True
        if self.allowed is not None:
            self._problem(
                problems, number, "agency_code", f"ไม่มีหน่วยงานรหัส {code} ในระบบ และไม่มีสิทธิ์เพิ่มหน่วยงานใหม่"
            )
            return False

        def text(column):
            index = self.columns.get(column)
            return cell_text(cells[index]) if index is not None else ""

        name, province, district = text("agency_name"), text("province"), text("district")
        before = len(problems)
        if not name:
            if "agency_name" in self.columns:
                self._problem(
                    problems, number, "agency_name",
                    f"ต้องระบุชื่อหน่วยงาน เพราะยังไม่มีหน่วยงานรหัส {code} ในระบบ",
                )
            else:
                self._problem(
                    problems, number, "agency_code",
                    f"ไม่มีหน่วยงานรหัส {code} ในระบบ (เพิ่มคอลัมน์ agency_name เพื่อสร้างหน่วยงานใหม่)",
                )
        elif len(name) > 255:
            self._problem(problems, number, "agency_name", "ชื่อหน่วยงานยาวได้ไม่เกิน 255 ตัวอักษร")
        if len(province) > 100:
            self._problem(problems, number, "province", "ชื่อจังหวัดยาวได้ไม่เกิน 100 ตัวอักษร")
        if len(district) > 100:
            self._problem(problems, number, "district", "ชื่ออำเภอยาวได้ไม่เกิน 100 ตัวอักษร")
        if len(problems) > before or agency_type is None:
            return False
        plan.new_agencies[code] = Agency(
            code=code, name=name, agency_type=agency_type, province=province, district=district
        )
        plan.agency_names[code] = name
        return True

    def _framework(self, year):
        framework = self.frameworks.get(year)
        if framework is None:
            items = list(FrameworkItem.objects.filter(fiscal_year=self.plan.fiscal_years[year]).order_by("order"))
            for item in items:
                self.plan.items[item.pk] = item
            framework = self.frameworks[year] = YearFramework(year, items)
        return framework

    def _score(self, raw):
        cached = self.scores.get(raw)
        if cached is None:
            try:
                cached = (parse_score(raw), None)
            except ValueError as e:
                cached = (None, str(e))
            if len(self.scores) < 100_000:
                self.scores[raw] = cached
        return cached

    def _add(self, number, code, year, item, part, value, problems, column):
        figures = self.plan.figures.setdefault((code, year), {})
        key = (item.id, part)
        if key in figures:
            label = f"{item.code}:{part}" if part else item.code
            problems.append(ImportProblem(
                number,
                f"รายการ {label} ของหน่วยงานรหัส {code} ปีงบประมาณ {year} ซ้ำกับแถวที่ {figures[key][0]}",
                *column,
            ))
        else:
            figures[key] = (number, value)
            self.read_count += 1

    def _long_figure(self, number, cells, code, year, problems):
        raw = cells[self.i_item]
        # (item, part, reason) by the cell as read: a national file names 11 to 61 items.
        cached = self.item_cells.get((year, raw))
        if cached is None:
            item_text = cell_text(raw)
            if not item_text:
                cached = (None, None, f"ต้องระบุรายการ เช่น {ITEM_HINT}")
            elif year is None:
                cached = (None, None, None)
            else:
                cached = self._framework(year).resolve(item_text)
            if len(self.item_cells) < 100_000:
                self.item_cells[year, raw] = cached
        item, part, reason = cached
        if reason:
            self._problem(problems, number, "item", reason)
        value, reason = self._score(cells[self.i_score])
        if reason:
            self._problem(problems, number, "score", reason)
        if code is not None and item is not None and value is not None:
            i = self.i_item
            self._add(number, code, year, item, part, value, problems, (self.plan.headers[i], i))

    def _wide_columns(self, year):
        """(index, header, item, part) of every score column for `year`; header problems once."""
        columns = self.wide_columns.get(year)
        if columns is None:
            framework = self._framework(year)
            columns, seen = [], {}
            for index, text in self.item_columns:
                item, part, reason = framework.resolve(text)
                if reason:
                    self.plan.problems.append(ImportProblem(1, reason, text, index))
                    continue
                key = (item.pk, part)
                if key in seen:
                    self.plan.problems.append(ImportProblem(
                        1, f"เป็นรายการเดียวกับคอลัมน์ {seen[key]} (รายการ {item.code})", text, index
                    ))
                    continue
                seen[key] = text
                columns.append((index, text, item, part))
            self.wide_columns[year] = columns
        return columns

    def _wide_figures(self, number, cells, code, year, problems):
        for index, text, item, part in self._wide_columns(year):
            raw = cells[index]
            if raw is None or raw == "" or (isinstance(raw, str) and not raw.strip()):
                continue
            value, reason = self._score(raw)
            if reason:
                problems.append(ImportProblem(number, reason, text, index))
            elif code is not None:
                self._add(number, code, year, item, part, value, problems, (text, index))


def _find_assessments(plan):
    """Fill plan.assessment_ids for the (agency, year) pairs of the file that exist."""
    year_of = {plan.fiscal_years[year].pk: year for _, year in plan.figures}
    code_of = {}
    for code, _ in plan.figures:
        pk = plan.agency_ids.get(code)
        if pk is not None:
            code_of[pk] = code
    plan.assessment_ids = {}
    for chunk in chunked(code_of):
        found = Assessment.objects.filter(agency_id__in=chunk, fiscal_year_id__in=list(year_of)).values_list(
            "pk", "agency_id", "fiscal_year_id"
        )
        for pk, agency_id, fiscal_year_id in found:
            key = (code_of[agency_id], year_of[fiscal_year_id])
            if key in plan.figures:
                plan.assessment_ids[key] = pk


def _existing_by_chunk(plan, pks=None):
    """(keys, {assessment pk: {(item id, part): value}}) for the file's assessments, CHUNK at a time;
    with a dict `pks`, also fills it with {(assessment pk, item id, part): score pk}."""
    for keys in chunked(plan.figures):
        assessment_pks = [plan.assessment_ids[key] for key in keys if key in plan.assessment_ids]
        existing = {}
        if assessment_pks:
            found = Score.objects.filter(assessment_id__in=assessment_pks)
            if pks is None:
                for assessment_id, item_id, part, value in found.values_list("assessment_id", "item_id", "part", "value"):
                    existing.setdefault(assessment_id, {})[item_id, part] = value
            else:
                for assessment_id, item_id, part, value, pk in found.values_list(
                    "assessment_id", "item_id", "part", "value", "pk"
                ):
                    existing.setdefault(assessment_id, {})[item_id, part] = value
                    pks[assessment_id, item_id, part] = pk
        yield keys, existing


def _compare(plan):
    """Count new, changed and unchanged figures and keep the first changes in file order."""
    _find_assessments(plan)
    new = updated = unchanged = 0
    sample = []  # heap of (-row, counter, Change): the SAMPLE_SIZE smallest rows
    counter = itertools.count()
    for keys, existing in _existing_by_chunk(plan):
        for key in keys:
            old = existing.get(plan.assessment_ids.get(key), {})
            for figure_key, (row, value) in plan.figures[key].items():
                before = old.get(figure_key)
                if before == value:
                    unchanged += 1
                    continue
                if before is None:
                    new += 1
                else:
                    updated += 1
                if len(sample) < SAMPLE_SIZE or -sample[0][0] > row:
                    entry = (-row, next(counter), (key, figure_key, before, value))
                    if len(sample) < SAMPLE_SIZE:
                        heapq.heappush(sample, entry)
                    else:
                        heapq.heapreplace(sample, entry)
    plan.new, plan.updated, plan.unchanged = new, updated, unchanged
    plan.compared = True
    plan.sample = []
    for negative_row, _, ((code, year), (item_id, part), before, value) in sorted(sample, reverse=True):
        item = plan.items[item_id]
        plan.sample.append(Change(
            row=-negative_row,
            agency_code=code,
            agency_name=plan.agency_names.get(code, ""),
            year=year,
            item=f"{item.code}:{part}" if part else item.code,
            old=before,
            new=value,
        ))


# Writing


def assessment_summary(result):
    """The derived fields of an assessment from its computed result (services.summary_fields)."""
    from assessments.services import summary_fields

    return summary_fields(result)


def score_import_write(plan, *, user=None, batch=None):
    """Write a plan without problems, all or nothing, and return the ImportReport.

    Bulk statements only, per chunk of assessments: new agencies, then the new assessments (a
    plain insert) and the existing ones whose figures change (an upsert, INSERT … ON CONFLICT
    UPDATE), carrying their derived summary computed in Python with one framework load per year
    (scoring.SummaryTree), then an insert of the new scores and an upsert of the changed ones;
    the plain inserts are COPYs on PostgreSQL. An unchanged figure, or an unchanged file, writes
    nothing.
    Every value was checked by the plan (bounds, two decimals, duplicates, permissions), so the
    database has nothing left to refuse; a concurrent import of the same agencies is reported.
    Bulk writes bypass simple-history's signals, so the history is written in bulk too: one
    historical row per new or changed score (old and new value, `user`, the time, `batch`),
    none for an unchanged one; the ImportBatch holds who, when, the file's hash and the counts.
    New scores' historical rows are written beside them (scores_insert_with_history); changed
    ones are upserted, with their historical rows (old value) sent from Python.
    The changed assessments' version is bumped, so a score page opened before the import
    cannot silently overwrite it."""
    if plan.problems:
        raise ValidationError(plan.errors)
    try:
        with _wide_sqlite_cache(), transaction.atomic():
            report = _write(plan, user=user, batch=batch)
    except IntegrityError:
        logger.exception("score import: integrity error")
        raise ValidationError(
            "บันทึกไม่สำเร็จ: มีการบันทึกข้อมูลหน่วยงานหรือผลการประเมินเดียวกันพร้อมกัน กรุณานำเข้าใหม่อีกครั้ง"
        ) from None
    if report.new or report.updated:  # the stored averages of the years written, once the write committed
        from assessments.services import aggregates_refresh_years

        aggregates_refresh_years(fiscal_years={plan.fiscal_years[year] for _, year in plan.figures})
    return report


@contextmanager
def _wide_sqlite_cache():
    """On SQLite, give this connection a page cache large enough for a national file.

    Once the default cache (2 MB) spills, the writer holds the database's EXCLUSIVE lock until
    it commits, and every page of the site (the progress page included) waits for the whole
    write, then fails after 5 s. With the pages kept in memory the lock is held for the commit
    only (measured: the longest read during a national import fell from 5 s to 0.05 s)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        previous = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute("PRAGMA cache_size = -262144")  # KiB: up to 256 MB, allocated as used
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def _write(plan, user=None, batch=None):
    from plans.prerender import documents_enqueue_after_commit  # plans depends on assessments

    when = timezone.now()
    # The plan checked every field of a new agency (code, name, type, province, district):
    # no full_clean per agency, which costs more than the insert.
    agencies = list(plan.new_agencies.values())
    plan.agency_ids.update(instances_insert(Agency, agencies, returning=["code", "pk"]))
    _find_assessments(plan)
    existed = set(plan.assessment_ids)

    frameworks = {}
    for _, year in plan.figures:
        if year not in frameworks:
            fiscal_year_id = plan.fiscal_years[year].pk
            frameworks[year] = (framework_nodes(fiscal_year_id), level_rule_specs(fiscal_year_id), {})
    code_of_item = {pk: item.code for pk, item in plan.items.items()}

    new = updated = unchanged = 0
    pks = {}  # (assessment pk, item id, part) → score pk, for the changed scores' historical rows
    for keys, existing in _existing_by_chunk(plan, pks):
        summaries, summary_keys, changed = [], [], []
        for key in keys:
            old = existing.get(plan.assessment_ids.get(key), {})
            figures = []
            for (item_id, part), (_, value) in plan.figures[key].items():
                before = old.get((item_id, part))
                if before == value:
                    unchanged += 1
                    continue
                if before is None:
                    new += 1
                else:
                    updated += 1
                figures.append((item_id, part, value, before))
            if not figures:
                continue
            official = {(code_of_item[item_id], part): value for (item_id, part), value in old.items()}
            official.update(((code_of_item[item_id], part), value) for item_id, part, value, _ in figures)
            nodes, rules, trees = frameworks[key[1]]
            summary = summary_tree(nodes, official, trees).summary(official, rules)
            code, year = key
            summaries.append(Assessment(
                agency_id=plan.agency_ids[code], fiscal_year=plan.fiscal_years[year], **summary_fields(summary)
            ))
            summary_keys.append(key)
            changed.append(figures)
        if not summaries:
            continue
        # New assessments in a plain insert (COPY on PostgreSQL): one that another import created
        # meanwhile raises IntegrityError, reported as a concurrent import. The derived fields of
        # the existing ones in one upsert on (agency, fiscal year) (bulk_update's CASE WHEN per row
        # costs far more), which also bumps their version: a score page opened before the import
        # must not silently overwrite it.
        fresh = [summary for summary, key in zip(summaries, summary_keys, strict=True) if key not in existed]
        known = [summary for summary, key in zip(summaries, summary_keys, strict=True) if key in existed]
        returning = ["pk", "agency", "fiscal_year"]
        written = {
            (agency_id, fiscal_year_id): pk
            for pk, agency_id, fiscal_year_id in itertools.chain(
                instances_insert(Assessment, fresh, returning=returning),
                instances_insert(
                    Assessment, known, returning=returning, unique_fields=["agency", "fiscal_year"],
                    update_fields=["overall", "level", "urgent_indicator_count"], increment=["version"],
                ),
            )
        }
        added, changed_scores, history = [], [], []
        for summary, figures in zip(summaries, changed, strict=True):
            summary.pk = pk = written[summary.agency_id, summary.fiscal_year_id]
            for item_id, part, value, before in figures:
                if before is None:
                    added.append((pk, item_id, part, value))
                else:
                    changed_scores.append((pk, item_id, part, value))
                    history.append((_Written(pks[pk, item_id, part], pk, item_id, part, value), before, "~"))
        # The new scores and their "added" historical rows (who, the batch); the changed ones,
        # then a historical row each with the old value.
        scores_insert_with_history(added, user=user, batch=batch, when=when)
        scores_update(changed_scores)
        record_score_changes(history, user=user, batch=batch, when=when)
        # Their documents are rendered again in the background once the import commits.
        documents_enqueue_after_commit(assessment_ids=[a.pk for a in summaries if a.pk])
    plan.new, plan.updated, plan.unchanged, plan.compared = new, updated, unchanged, True
    return ImportReport(
        new=new,
        updated=updated,
        unchanged=unchanged,
        agencies_created=len(agencies),
        assessments_created=sum(1 for key in plan.figures if key not in existed),
    )


# What record_score_changes reads of a score the import changed, without a Score instance.
_Written = namedtuple("_Written", "pk assessment_id item_id part value")


def _published(nodes, official):
    """Codes of the indicators and sub-indicators with an official figure (see summary_nodes)."""
    return tuple(
        node.code for node in nodes
        if node.kind in (scoring.INDICATOR, scoring.SUB_INDICATOR) and (node.code, "") in official
    )


def _below_published(nodes, published):
    parent_of = {node.code: node.parent for node in nodes}
    cut = set(published)

    def below_cut(node):
        parent = node.parent
        while parent is not None:
            if parent in cut:
                return True
            parent = parent_of.get(parent)
        return False

    return [node for node in nodes if not below_cut(node)]


def summary_nodes(nodes, official, cache):
    """The framework nodes `scoring.compute` needs for an assessment's summary fields.

    An official figure wins over the figure computed from its parts (DOMAIN), so below an
    indicator or sub-indicator that has one, the parts change no value the summary reads
    (overall, tool scores for the level, indicator triage); they only add findings, which the
    summary does not store. Dropping them makes a national indicator-level file compute 14
    nodes per agency instead of 73. `cache` keeps one node list per set of such figures."""
    published = _published(nodes, official)
    kept = cache.get(published)
    if kept is None:
        kept = cache[published] = _below_published(nodes, published)
    return kept


def summary_tree(nodes, official, cache):
    """The scoring.SummaryTree of summary_nodes(nodes, official): built once per set of published
    figures and kept in `cache`, whose None key keeps the only nodes _published reads (the
    indicators and sub-indicators)."""
    candidates = cache.get(None)
    if candidates is None:
        candidates = cache[None] = [
            node for node in nodes if node.kind in (scoring.INDICATOR, scoring.SUB_INDICATOR)
        ]
    published = _published(candidates, official)
    tree = cache.get(published)
    if tree is None:
        tree = cache[published] = scoring.SummaryTree(_below_published(nodes, published))
    return tree


def summary_fields(summary):
    """The derived fields of an assessment from its scoring.Summary, as assessment_summary gives
    them from a full result."""
    return {
        "overall": summary.overall.quantize(Decimal("0.0001")) if summary.overall is not None else None,
        "level": summary.level.name if summary.level else "",
        "urgent_indicator_count": summary.urgent_indicator_count,
    }


@dataclass(frozen=True)
class ImportReport:
    new: int
    updated: int
    unchanged: int
    agencies_created: int
    assessments_created: int
    dry_run: bool = False

    @property
    def rows(self):
        return self.new + self.updated + self.unchanged

    def __str__(self):
        head = "ตรวจสอบไฟล์แล้ว ยังไม่ได้บันทึก" if self.dry_run else "นำเข้าคะแนนแล้ว"
        return (
            f"{head}: {self.rows} แถว · คะแนนใหม่ {self.new} · แก้ไข {self.updated}"
            f" · ไม่เปลี่ยนแปลง {self.unchanged}"
            f" · หน่วยงานใหม่ {self.agencies_created} · ผลการประเมินใหม่ {self.assessments_created}"
        )


def import_scores(source, *, dry_run=False, allowed_agency_ids=None, user=None):
    """Import a file of official scores, all or nothing, and return an ImportReport.

    `source`: a path, bytes, or a file-like object of CSV (UTF-8, BOM accepted) or .xlsx, in the
    long or the wide layout. Raises ValidationError listing every problem in Thai; nothing is
    written then. Every import that is not a dry run records an ImportBatch, done or failed."""
    score_file = ScoreFile.read(source)
    plan = score_import_plan(score_file, allowed_agency_ids=allowed_agency_ids, compare=dry_run)
    if dry_run:
        if plan.problems:
            raise ValidationError(plan.errors)
        return plan.report(dry_run=True)
    batch = ImportBatch(
        user=user,
        file_name=score_file.name[:255] or "(ไม่มีชื่อไฟล์)",
        sha256=score_file.sha256,
        status=ImportBatch.Status.RUNNING,
        rows=plan.figure_count,
    )
    batch.save()  # before the write: the scores' historical rows point to it
    return _run(batch, plan)


def _run(batch, plan):
    """Write `plan` and record the outcome on `batch` (saved either way); raise on problems."""
    problems = list(plan.problems)
    report = None
    if not problems:
        try:
            report = score_import_write(plan, user=batch.user, batch=batch)
        except ValidationError as e:
            problems = [ImportProblem(None, message) for message in e.messages]
    batch.finished_at = timezone.now()
    batch.processed = batch.rows
    if report is not None:
        batch.status = ImportBatch.Status.DONE
        batch.new, batch.updated, batch.unchanged = report.new, report.updated, report.unchanged
        batch.agencies_created = report.agencies_created
        batch.errors = []
    else:
        batch.status = ImportBatch.Status.FAILED
        batch.errors = [problem.as_json() for problem in problems[:LISTED_PROBLEMS]]
    batch.save()
    if report is None:
        raise ValidationError([str(problem) for problem in problems])
    return report


# The admin's two steps: preview (a dry run that keeps the file), then confirm


def import_allowed_agency_ids(user):
    """Agencies `user` may import scores for: None (any, and new ones) for a superuser,
    otherwise the agencies where the user holds the staff role."""
    if user is None or not user.is_active:
        return set()
    if user.is_superuser:
        return None
    return set(agencies_for(user, roles=[Membership.Role.STAFF]).values_list("pk", flat=True))


def import_sync_max_rows():
    return getattr(settings, "IMPORT_SYNC_MAX_ROWS", 2000)


def import_batch_preview(*, user, upload):
    """Check an uploaded file as `user` and record an ImportBatch: previewed, with the file kept
    for the confirm step, or failed, with every problem. Returns (batch, plan); writes no score."""
    score_file = ScoreFile.read(upload)
    plan = score_import_plan(score_file, allowed_agency_ids=import_allowed_agency_ids(user), compare=True)
    batch = ImportBatch(
        user=user,
        file_name=score_file.name[:255] or "(ไม่มีชื่อไฟล์)",
        sha256=score_file.sha256,
        rows=plan.figure_count,
        new=plan.new,
        updated=plan.updated,
        unchanged=plan.unchanged,
        agencies_created=len(plan.new_agencies),
    )
    if plan.problems:
        batch.status = ImportBatch.Status.FAILED
        batch.finished_at = timezone.now()
        batch.errors = [problem.as_json() for problem in plan.problems[:LISTED_PROBLEMS]]
    else:
        batch.status = ImportBatch.Status.PREVIEWED
        extension = ".xlsx" if score_file.is_xlsx else ".csv"
        batch.file.save(f"scores-{score_file.sha256[:16]}{extension}", ContentFile(score_file.data), save=False)
    batch.save()
    return batch, plan


def import_batch_confirm(*, batch, user):
    """Start the import of a previewed batch: in this request for a file of at most
    IMPORT_SYNC_MAX_ROWS figures, otherwise as a background task. A batch is confirmed once."""
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, user=user, status=ImportBatch.Status.PREVIEWED
    ).update(status=ImportBatch.Status.QUEUED)
    if not claimed:
        raise ValidationError("ไฟล์นี้ยืนยันการนำเข้าไปแล้ว หรือไม่ได้อยู่ในสถานะรอยืนยัน")
    if batch.rows > import_sync_max_rows():
        from assessments.tasks import import_batch_task

        import_batch_task.enqueue(batch.pk)
    else:
        import_batch_run(batch.pk)
    batch.refresh_from_db()
    return batch


def import_batch_run(batch_id):
    """Import the kept file of a queued batch (the task calls this; so does a small confirm).

    The file is checked again, with the user's permissions as they are now: the database may
    have changed since the preview. Progress (figures checked) is saved as the rows are read;
    the write itself is one transaction, so it shows only as done or failed."""
    claimed = ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.QUEUED).update(
        status=ImportBatch.Status.RUNNING, processed=0
    )
    if not claimed:
        return  # run already, or never confirmed
    batch = ImportBatch.objects.select_related("user").get(pk=batch_id)

    def progress(processed):
        ImportBatch.objects.filter(pk=batch_id).update(processed=min(processed, batch.rows))

    try:
        with batch.file.open("rb") as stored:
            score_file = ScoreFile(batch.file_name, stored.read())
        plan = score_import_plan(
            score_file, allowed_agency_ids=import_allowed_agency_ids(batch.user), compare=False, progress=progress
        )
        batch.rows = plan.figure_count
        progress(batch.rows)  # checked: the page now shows the write
        _run(batch, plan)
    except ValidationError:
        pass  # recorded on the batch by _run
    except Exception as e:
        logger.exception("score import batch %s failed", batch_id)
        batch.status = ImportBatch.Status.FAILED
        batch.finished_at = timezone.now()
        batch.errors = [ImportProblem(None, f"นำเข้าไม่สำเร็จ: เกิดข้อผิดพลาดของระบบ ({type(e).__name__})").as_json()]
        batch.save()


# The resource: export in the long layout with Thai headers; import through the same plan


class ScoreWidget(widgets.DecimalWidget):
    """A score cell: Thai reasons for bad values, two decimals out."""

    def clean(self, value, row=None, **kwargs):
        return parse_score(value)

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return value if kwargs.get("force_native_type") else f"{value:.2f}"


class ScoreResource(resources.ModelResource):
    """Official scores keyed by business codes (agency code, fiscal year, item[:part]), never by id.

    Exports the long layout with Thai headers, which the import reads back unchanged.
    `import_data` goes through `score_import_plan` and `score_import_write` (checked first, bulk
    writes, all or nothing), not the library's row-by-row path. `allowed_agency_ids`
    (None = every agency) limits both import and export."""

    agency_code = Field(attribute="assessment__agency__code", column_name=THAI_HEADERS["agency_code"], readonly=True)
    agency_name = Field(attribute="assessment__agency__name", column_name=THAI_HEADERS["agency_name"], readonly=True)
    agency_type = Field(
        attribute="assessment__agency__agency_type", column_name=THAI_HEADERS["agency_type"], readonly=True
    )
    province = Field(attribute="assessment__agency__province", column_name=THAI_HEADERS["province"], readonly=True)
    district = Field(attribute="assessment__agency__district", column_name=THAI_HEADERS["district"], readonly=True)
    fiscal_year = Field(
        attribute="assessment__fiscal_year__year", column_name=THAI_HEADERS["fiscal_year"], readonly=True
    )
    item = Field(column_name=THAI_HEADERS["item"], readonly=True)
    score = Field(attribute="value", column_name=THAI_HEADERS["score"], widget=ScoreWidget())

    class Meta:
        model = Score
        fields = COLUMNS
        import_id_fields = ("agency_code", "fiscal_year", "item")
        clean_model_instances = True
        use_transactions = True

    def __init__(self, allowed_agency_ids=None, **kwargs):
        super().__init__(**kwargs)
        self.allowed_agency_ids = None if allowed_agency_ids is None else set(allowed_agency_ids)

    # export

    def get_queryset(self):
        return Score.objects.all()

    def dehydrate_agency_type(self, score):
        return AGENCY_TYPE_SHORT.get(score.assessment.agency.agency_type, score.assessment.agency.agency_type)

    def dehydrate_item(self, score):
        return f"{score.item.code}:{score.part}" if score.part else score.item.code

    def export(self, queryset=None, **kwargs):
        """The long layout, one row per figure, ordered by agency, year and framework order.
        Read with values_list: a national table (≈ 90,000 figures) exports in seconds."""
        if queryset is None:
            queryset = self.get_queryset()
        if self.allowed_agency_ids is not None:
            queryset = queryset.filter(assessment__agency_id__in=self.allowed_agency_ids)
        native = kwargs.get("force_native_type", False)
        rows = queryset.order_by(
            "assessment__agency__code", "assessment__fiscal_year__year", "item__order", "part"
        ).values_list(
            "assessment__agency__code",
            "assessment__agency__name",
            "assessment__agency__agency_type",
            "assessment__agency__province",
            "assessment__agency__district",
            "assessment__fiscal_year__year",
            "item__code",
            "part",
            "value",
        )
        dataset = tablib.Dataset(headers=list(THAI_COLUMNS))
        for code, name, agency_type, province, district, year, item_code, part, value in rows.iterator(5000):
            dataset.append(neutralise_row((
                code,
                name,
                AGENCY_TYPE_SHORT.get(agency_type, agency_type),
                province,
                district,
                year,
                f"{item_code}:{part}" if part else item_code,
                value if native else f"{value:.2f}",
            )))
        return dataset

    # import

    def import_data(self, dataset, dry_run=False, raise_errors=False, **kwargs):
        result = self.get_result_class()()
        plan = score_import_plan(dataset, allowed_agency_ids=self.allowed_agency_ids, compare=dry_run)
        try:
            if plan.problems:
                raise ValidationError(plan.errors)
            if not dry_run:
                score_import_write(plan, user=kwargs.get("user"))
        except ValidationError as e:
            if raise_errors:
                raise
            for message in e.messages:
                result.append_base_error(Error(ValidationError(message)))
            return result
        result.totals[RowResult.IMPORT_TYPE_NEW] = plan.new
        result.totals[RowResult.IMPORT_TYPE_UPDATE] = plan.updated
        result.totals[RowResult.IMPORT_TYPE_SKIP] = plan.unchanged
        return result
