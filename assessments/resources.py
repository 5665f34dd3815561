"""Tabular import and export of the official ITA scores the NACC publishes: one row per figure.

Columns: agency_code, agency_name, agency_type, province, district, fiscal_year, item, score.
`item` is a framework code of that fiscal year (overall, IIT, 7, 9.1, i3, e4, O12), matched without
regard to case, or an EIT question with its part (e4:public, e4:survey).

An import is all or nothing. `score_import_plan` reads and checks every row first, with one query
per table, and collects every problem in Thai, naming the row as a spreadsheet shows it (header =
row 1). Only a file without a single problem is written, by django-import-export, inside one
transaction; the assessments it touched are then refreshed.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import tablib
from django.core.exceptions import ValidationError
from django.db import transaction
from import_export import resources, widgets
from import_export.fields import Field
from import_export.results import RowResult

from assessments.models import (
    Agency,
    Assessment,
    FiscalYear,
    FrameworkItem,
    Score,
    compute_assessment,
    framework_nodes,
    level_rule_specs,
)
from assessments.services import assessment_refresh, score_problem

COLUMNS = (
    "agency_code", "agency_name", "agency_type", "province", "district", "fiscal_year", "item", "score",
)

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

PARTS = {
    "public": Score.Part.PUBLIC,
    "eitpublic": Score.Part.PUBLIC,
    "survey": Score.Part.SURVEY,
    "eitsurvey": Score.Part.SURVEY,
}

ARABIC_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
CENT = Decimal("0.01")


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
    """A published score as Decimal(…, 2 places); ValueError with a Thai reason otherwise.

    ITA scores are 0–100 with two decimals, so 92.270 is accepted as 92.27 but 92.275 is refused
    rather than rounded: it is not a figure the NACC published."""
    text = cell_text(raw)
    if not text:
        raise ValueError("ต้องระบุคะแนน")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"คะแนนต้องเป็นตัวเลข (ได้ {text})") from None
    problem = score_problem(value)
    if problem:
        raise ValueError(f"{problem} (ได้ {text})")
    return value.quantize(CENT)


def agency_type_of(text):
    """Agency.Type value for a choice value or a Thai name/abbreviation; empty → other; unknown → None."""
    if not text:
        return Agency.Type.OTHER
    return AGENCY_TYPES.get(text.lower()) or AGENCY_TYPES.get(text.replace(" ", ""))


def normalize_header(name):
    return cell_text(name).lstrip("\ufeff").strip().lower()


@dataclass
class PlannedRow:
    number: int  # as a spreadsheet shows it: header = 1, first data row = 2
    agency_code: str = ""
    year: int | None = None
    item: FrameworkItem | None = None
    part: str = ""
    value: Decimal | None = None
    existing: Score | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, full Thai message)

    def error(self, column, message):
        self.errors.append((column, f"แถวที่ {self.number} คอลัมน์ {column}: {message}"))

    @property
    def item_label(self):
        return f"{self.item.code}:{self.part}" if self.part else self.item.code


@dataclass
class ScoreImportPlan:
    """Every row of a file resolved to (agency, fiscal year, item, part, value), with its problems."""

    file_errors: list[str] = field(default_factory=list)
    # by the library's row number (first data row = 1)
    rows: dict[int, PlannedRow] = field(default_factory=dict)
    blank_rows: int = 0
    agencies: dict[str, Agency] = field(default_factory=dict)  # by code; new ones unsaved
    assessments: dict[tuple[str, int], Assessment] = field(default_factory=dict)  # new ones unsaved
    agencies_created: int = 0
    assessments_created: int = 0

    @property
    def errors(self):
        return self.file_errors + [
            message
            for row in self.rows.values()
            for _, message in sorted(row.errors, key=lambda error: COLUMNS.index(error[0]))
        ]

    @transaction.atomic
    def create_missing(self):
        """Save the agencies and assessments the rows need (only for a file without errors)."""
        for agency in self.agencies.values():
            if agency.pk is None:
                agency.full_clean()
                agency.save()
                self.agencies_created += 1
        for assessment in self.assessments.values():
            if assessment.pk is None:
                assessment.save()  # a new agency's pk, saved just above, reaches agency_id here
                self.assessments_created += 1


def score_import_plan(dataset, *, allowed_agency_ids=None):
    """Resolve and check every row of `dataset` without writing anything (five queries in all).

    `allowed_agency_ids`: None for every agency; otherwise a row for any other agency, or for an
    agency not yet in the database, is an error."""
    plan = ScoreImportPlan()
    headers = [normalize_header(h) for h in dataset.headers or []]
    missing = [c for c in COLUMNS if c not in headers]
    if missing:
        plan.file_errors.append(f"แถวที่ 1 (หัวตาราง): ไม่มีคอลัมน์ {', '.join(missing)}")
    repeated = sorted({h for h in headers if h in COLUMNS and headers.count(h) > 1})
    if repeated:
        plan.file_errors.append(f"แถวที่ 1 (หัวตาราง): คอลัมน์ {', '.join(repeated)} ซ้ำกัน")
    if plan.file_errors:
        return plan

    raw_rows = {}
    for index, values in enumerate(dataset, 1):
        row = {h: cell_text(v) for h, v in zip(headers, values) if h in COLUMNS}
        if any(row.values()):
            raw_rows[index] = row
        else:
            plan.blank_rows += 1
    if not raw_rows:
        plan.file_errors.append("ไม่มีข้อมูลคะแนนในไฟล์ (มีแต่หัวตาราง)")
        return plan

    codes = {row["agency_code"] for row in raw_rows.values()} - {""}
    year_texts = {row["fiscal_year"].translate(ARABIC_DIGITS) for row in raw_rows.values()}
    years = {int(y) for y in year_texts if y.isdigit()}
    agencies = {a.code: a for a in Agency.objects.filter(code__in=codes)}
    fiscal_years = {fy.year: fy for fy in FiscalYear.objects.filter(year__in=years)}
    items = {year: {} for year in fiscal_years}
    framework = FrameworkItem.objects.filter(fiscal_year__year__in=fiscal_years).select_related("fiscal_year")
    for item in framework:
        items[item.fiscal_year.year][item.code.lower()] = item
    plan.agencies = dict(agencies)

    seen = {}
    for index, raw in raw_rows.items():
        row = PlannedRow(number=index + 1)
        plan.rows[index] = row

        code = raw["agency_code"]
        if not code:
            row.error("agency_code", "ต้องระบุรหัสหน่วยงาน")
        elif len(code) > 32:
            row.error("agency_code", f"รหัสหน่วยงานยาวได้ไม่เกิน 32 ตัวอักษร (ได้ {code})")
        else:
            row.agency_code = code

        agency_type = agency_type_of(raw["agency_type"])
        if agency_type is None:
            row.error(
                "agency_type", f"ไม่รู้จักประเภทหน่วยงาน {raw['agency_type']} (ใช้ได้: {AGENCY_TYPE_HINT})"
            )

        year_text = raw["fiscal_year"].translate(ARABIC_DIGITS)
        if not year_text:
            row.error("fiscal_year", "ต้องระบุปีงบประมาณ (พ.ศ.)")
        elif not year_text.isdigit():
            row.error("fiscal_year", f"ปีงบประมาณต้องเป็นตัวเลขปี พ.ศ. เช่น 2568 (ได้ {raw['fiscal_year']})")
        elif int(year_text) not in fiscal_years:
            hint = " (ใช้ปี พ.ศ. เช่น 2568)" if int(year_text) < 2400 else ""
            row.error("fiscal_year", f"ไม่มีปีงบประมาณ {int(year_text)} ในระบบ{hint}")
        else:
            row.year = int(year_text)

        item_text = raw["item"].translate(ARABIC_DIGITS)
        item_code, colon, part_text = (s.strip() for s in item_text.partition(":"))
        if not item_code:
            row.error("item", "ต้องระบุรายการ เช่น overall, IIT, 9.1, i1, e4:public, O12")
        elif row.year is not None:
            row.item = items[row.year].get(item_code.lower())
            if row.item is None:
                row.error("item", f"ไม่มีรายการ {item_code} ในกรอบการประเมินปีงบประมาณ {row.year}")
        if colon:
            part = PARTS.get(part_text.lower())
            if part is None:
                row.error("item", f"ส่วนของคะแนนต้องเป็น public หรือ survey (ได้ {raw['item']})")
                row.item = None
            elif row.item is not None and not row.item.has_parts:
                row.error(
                    "item", f"รายการ {row.item.code} ไม่มีคะแนนแยกส่วน public/survey (ได้ {raw['item']})"
                )
                row.item = None
            else:
                row.part = part

        try:
            row.value = parse_score(raw["score"])
        except ValueError as e:
            row.error("score", str(e))

        if row.agency_code:
            agency = plan.agencies.get(row.agency_code)
            if agency is None and allowed_agency_ids is not None:
                row.error(
                    "agency_code",
                    f"ไม่มีหน่วยงานรหัส {row.agency_code} ในระบบ และไม่มีสิทธิ์เพิ่มหน่วยงานใหม่",
                )
            elif agency is None:
                agency = _new_agency(row, raw, agency_type)
                if agency is not None:
                    plan.agencies[row.agency_code] = agency
            elif allowed_agency_ids is not None and agency.pk not in allowed_agency_ids:
                row.error("agency_code", f"ไม่มีสิทธิ์นำเข้าคะแนนของหน่วยงานรหัส {row.agency_code}")

        if row.agency_code and row.item is not None:
            key = (row.agency_code, row.year, row.item.code, row.part)
            if key in seen:
                row.error(
                    "item",
                    f"รายการ {row.item_label} ของหน่วยงานรหัส {row.agency_code} ปีงบประมาณ {row.year} "
                    f"ซ้ำกับแถวที่ {seen[key]}",
                )
            else:
                seen[key] = row.number

    if plan.errors:
        return plan

    pairs = {(row.agency_code, row.year) for row in plan.rows.values()}
    existing = Assessment.objects.filter(agency__code__in=codes, fiscal_year__year__in=years).select_related(
        "agency", "fiscal_year"
    )
    plan.assessments = {}
    for assessment in existing:
        key = (assessment.agency.code, assessment.fiscal_year.year)
        if key in pairs:
            plan.assessments[key] = assessment
    for code, year in pairs - plan.assessments.keys():
        plan.assessments[code, year] = Assessment(agency=plan.agencies[code], fiscal_year=fiscal_years[year])
    scores = Score.objects.filter(
        assessment__in=[a.pk for a in plan.assessments.values() if a.pk is not None]
    ).select_related("assessment__agency", "assessment__fiscal_year", "item")
    by_key = {(s.assessment.agency.code, s.assessment.fiscal_year.year, s.item_id, s.part): s for s in scores}
    for row in plan.rows.values():
        row.existing = by_key.get((row.agency_code, row.year, row.item.pk, row.part))
    return plan


def _new_agency(row, raw, agency_type):
    """An unsaved Agency from the row's columns, or None (with the row's errors) if they cannot make one."""
    name, province, district = raw["agency_name"], raw["province"], raw["district"]
    problems = len(row.errors)
    if not name:
        row.error("agency_name", f"ต้องระบุชื่อหน่วยงาน เพราะยังไม่มีหน่วยงานรหัส {row.agency_code} ในระบบ")
    elif len(name) > 255:
        row.error("agency_name", "ชื่อหน่วยงานยาวได้ไม่เกิน 255 ตัวอักษร")
    if len(province) > 100:
        row.error("province", "ชื่อจังหวัดยาวได้ไม่เกิน 100 ตัวอักษร")
    if len(district) > 100:
        row.error("district", "ชื่ออำเภอยาวได้ไม่เกิน 100 ตัวอักษร")
    if len(row.errors) > problems or agency_type is None:
        return None
    return Agency(
        code=row.agency_code, name=name, agency_type=agency_type, province=province, district=district
    )


class ScoreWidget(widgets.DecimalWidget):
    """A score cell: Thai reasons for bad values, two decimals out."""

    def clean(self, value, row=None, **kwargs):
        return parse_score(value)

    def render(self, value, obj=None, **kwargs):
        return "" if value is None else f"{value:.2f}"


class ScoreResource(resources.ModelResource):
    """Official scores keyed by business codes (agency code, fiscal year, item[:part]), never by id.

    Import runs `score_import_plan` in `before_import`; rows then take their instance from the
    plan (no query per row) and the library writes them. Any error in the plan refuses the whole
    file. `allowed_agency_ids` (None = every agency) limits both import and export."""

    agency_code = Field(attribute="assessment__agency__code", column_name="agency_code", readonly=True)
    agency_name = Field(attribute="assessment__agency__name", column_name="agency_name", readonly=True)
    agency_type = Field(attribute="assessment__agency__agency_type", column_name="agency_type", readonly=True)
    province = Field(attribute="assessment__agency__province", column_name="province", readonly=True)
    district = Field(attribute="assessment__agency__district", column_name="district", readonly=True)
    fiscal_year = Field(attribute="assessment__fiscal_year__year", column_name="fiscal_year", readonly=True)
    item = Field(column_name="item", readonly=True)
    score = Field(attribute="value", column_name="score", widget=ScoreWidget())

    class Meta:
        model = Score
        fields = COLUMNS
        import_id_fields = ("agency_code", "fiscal_year", "item")
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True
        report_skipped = True

    def __init__(self, allowed_agency_ids=None, **kwargs):
        super().__init__(**kwargs)
        self.allowed_agency_ids = None if allowed_agency_ids is None else set(allowed_agency_ids)
        self.plan = None
        self.touched = {}
        self._current = None

    # export

    def get_queryset(self):
        queryset = Score.objects.select_related("assessment__agency", "assessment__fiscal_year", "item")
        queryset = queryset.order_by(
            "assessment__agency__code", "assessment__fiscal_year__year", "item__order", "part"
        )
        if self.allowed_agency_ids is not None:
            queryset = queryset.filter(assessment__agency_id__in=self.allowed_agency_ids)
        return queryset

    def dehydrate_item(self, score):
        return f"{score.item.code}:{score.part}" if score.part else score.item.code

    # import

    def import_data(
        self,
        dataset,
        dry_run=False,
        raise_errors=False,
        use_transactions=None,
        collect_failed_rows=False,
        rollback_on_validation_errors=False,
        **kwargs,
    ):
        # All or nothing whoever calls: one refused row undoes every write of the file.
        return super().import_data(
            dataset,
            dry_run=dry_run,
            raise_errors=raise_errors,
            use_transactions=True,
            collect_failed_rows=collect_failed_rows,
            rollback_on_validation_errors=True,
            **kwargs,
        )

    def before_import(self, dataset, **kwargs):
        if dataset.headers:
            dataset.headers = [normalize_header(h) for h in dataset.headers]
        self.touched = {}
        self.plan = score_import_plan(dataset, allowed_agency_ids=self.allowed_agency_ids)
        if self.plan.file_errors:
            # Reported by the library as a base error; import_row then skips every row.
            raise ValidationError(self.plan.file_errors)
        if not self.plan.errors:
            self.plan.create_missing()

    def import_row(self, row, instance_loader, **kwargs):
        planned = None
        if self.plan is not None and not self.plan.file_errors:
            planned = self.plan.rows.get(kwargs["row_number"])
        if planned is None or (self.plan.errors and not planned.errors):
            # A blank line, an unreadable file, or a good row of a file that is refused anyway.
            row_result = self.get_row_result_class()()
            row_result.import_type = RowResult.IMPORT_TYPE_SKIP
            return row_result
        self._current = planned
        return super().import_row(row, instance_loader, **kwargs)

    def before_import_row(self, row, **kwargs):
        if self._current.errors:
            by_column = {}
            for column, message in self._current.errors:
                by_column.setdefault(column, []).append(message)
            raise ValidationError(by_column)

    def get_instance(self, instance_loader, row):
        return self._current.existing

    def init_instance(self, row=None):
        planned = self._current
        return Score(
            assessment=self.plan.assessments[planned.agency_code, planned.year],
            item=planned.item,
            part=planned.part,
        )

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # The plan resolved assessment and item and checked (assessment, item, part) against the
        # file and the database; skip the per-row queries full_clean would make for them.
        errors = dict(import_validation_errors or {})
        if self._meta.clean_model_instances:
            try:
                instance.full_clean(
                    exclude=[*errors, "assessment", "item"], validate_unique=False, validate_constraints=False
                )
            except ValidationError as e:
                errors = e.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        self.touched[instance.assessment_id] = instance.assessment

    def after_import(self, dataset, result, **kwargs):
        super().after_import(dataset, result, **kwargs)
        if self._is_dry_run(kwargs) or result.has_errors() or result.has_validation_errors():
            return
        framework = {}
        for assessment in self.touched.values():
            year_id = assessment.fiscal_year_id
            if year_id not in framework:
                framework[year_id] = (framework_nodes(year_id), level_rule_specs(year_id))
            nodes, rules = framework[year_id]
            assessment_refresh(assessment=assessment, result=compute_assessment(assessment, nodes, rules))

    def error_messages(self, result):
        """Every problem of an import in Thai, in file order."""
        if self.plan is not None and self.plan.errors:
            return self.plan.errors
        # Anything the plan did not foresee (a database error, a model validator).
        messages = []
        for error in result.base_errors:
            if isinstance(error.error, ValidationError):
                messages.extend(error.error.messages)
            else:
                messages.append(f"นำเข้าไม่สำเร็จ: {error.error}")
        for invalid in result.invalid_rows:
            for column, column_messages in invalid.error_dict.items():
                messages.extend(f"แถวที่ {invalid.number + 1} คอลัมน์ {column}: {m}" for m in column_messages)
        for error_row in result.error_rows:
            number = error_row.number + 1
            messages.extend(f"แถวที่ {number}: บันทึกไม่สำเร็จ ({e.error})" for e in error_row.errors)
        return messages


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


def import_scores(source, *, dry_run=False, allowed_agency_ids=None):
    """Import a file of official scores, all or nothing, and return an ImportReport.

    `source`: a path, bytes, or a file-like object of CSV (UTF-8, BOM accepted) or .xlsx.
    Raises ValidationError listing every problem in Thai; nothing is written then."""
    dataset = load_dataset(source)
    resource = ScoreResource(allowed_agency_ids=allowed_agency_ids)
    with transaction.atomic():
        result = resource.import_data(dataset, dry_run=dry_run)
        errors = resource.error_messages(result)
        if errors:
            raise ValidationError(errors)
    return ImportReport(
        new=result.totals[RowResult.IMPORT_TYPE_NEW],
        updated=result.totals[RowResult.IMPORT_TYPE_UPDATE],
        unchanged=result.totals[RowResult.IMPORT_TYPE_SKIP] - resource.plan.blank_rows,
        agencies_created=resource.plan.agencies_created,
        assessments_created=resource.plan.assessments_created,
        dry_run=dry_run,
    )


def load_dataset(source):
    """A tablib Dataset from a path, bytes or file-like object; .xlsx by name or content, else CSV."""
    name = ""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name
        try:
            data = path.read_bytes()
        except OSError:
            raise ValidationError(f"เปิดไฟล์ {source} ไม่ได้") from None
    elif isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        name = str(getattr(source, "name", "") or "")
        data = source.read()
    if isinstance(data, bytes) and (name.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04"):
        try:
            return tablib.Dataset().load(io.BytesIO(data), format="xlsx")
        except Exception:
            raise ValidationError("อ่านไฟล์ .xlsx ไม่ได้") from None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("ไฟล์ต้องเข้ารหัส UTF-8 (ใน Excel ให้บันทึกเป็น CSV UTF-8)") from None
    return _csv_dataset(data.lstrip("\ufeff"))


def _csv_dataset(text):
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise ValidationError("ไฟล์ว่าง ไม่มีหัวตาราง")
    header, body = rows[0], rows[1:]
    width = len(header)
    errors = []
    for number, cells in enumerate(body, 2):
        if len(cells) < width:
            cells.extend([""] * (width - len(cells)))
        elif len(cells) > width:
            if any(c.strip() for c in cells[width:]):
                errors.append(f"แถวที่ {number}: มีข้อมูลเกินจำนวนคอลัมน์ของหัวตาราง ({width} คอลัมน์)")
            del cells[width:]
    if errors:
        raise ValidationError(errors)
    return tablib.Dataset(*body, headers=header)
