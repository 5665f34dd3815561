import contextlib
import dataclasses
import datetime
import io
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import connection, models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from ita_portal import signing_secrets
from ita_portal.spreadsheets import formula_problem

SCORE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def score_field(**kwargs):
    return models.DecimalField(max_digits=5, decimal_places=2, validators=SCORE_VALIDATORS, **kwargs)


# Agency codes go into URLs (/compare/agency/<code>/…) and file names (the bulk ZIP):
# letters, digits and "-" only, so that no code carries a "/", "..", a space or a quote.
AGENCY_CODE_PATTERN = r"\A[A-Za-z0-9-]+\Z"
AGENCY_CODE_MESSAGE = "รหัสหน่วยงานใช้ได้เฉพาะตัวอักษรภาษาอังกฤษ ตัวเลข และเครื่องหมาย - เท่านั้น"
validate_agency_code = RegexValidator(AGENCY_CODE_PATTERN, AGENCY_CODE_MESSAGE, code="agency_code")

def validate_no_formula(value):
    problem = formula_problem(value)
    if problem:
        raise ValidationError(problem, code="formula")


class AgencyManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, code):
        return self.get(code=code)


class Agency(models.Model):
    class Type(models.TextChoices):
        SAO = "sao", "องค์การบริหารส่วนตำบล (อบต.)"
        SUBDISTRICT_MUNICIPALITY = "tambon", "เทศบาลตำบล"
        TOWN_MUNICIPALITY = "mueang", "เทศบาลเมือง"
        CITY_MUNICIPALITY = "nakhon", "เทศบาลนคร"
        PAO = "pao", "องค์การบริหารส่วนจังหวัด (อบจ.)"
        OTHER = "other", "อื่น ๆ"

    code = models.CharField(
        "รหัสหน่วยงาน", max_length=32, unique=True, validators=[validate_agency_code],
        help_text="ตัวอักษรภาษาอังกฤษ ตัวเลข และ - เท่านั้น เช่น 6300101",
    )
    name = models.CharField("ชื่อหน่วยงาน", max_length=255, validators=[validate_no_formula])
    agency_type = models.CharField("ประเภทหน่วยงาน", max_length=16, choices=Type.choices, default=Type.SAO)
    district = models.CharField("อำเภอ", max_length=100, blank=True, validators=[validate_no_formula])
    province = models.CharField("จังหวัด", max_length=100, blank=True, db_index=True, validators=[validate_no_formula])
    emblem = models.ImageField("ตราสัญลักษณ์", upload_to="emblems/", null=True, blank=True)
    table_digits = models.CharField(
        "ตัวเลขในตารางของเอกสาร",
        max_length=8,
        choices=[("thai", "เลขไทย"), ("arabic", "เลขอารบิก")],
        default="thai",
    )
    signing_pkcs12 = models.FileField(
        "ใบรับรองสำหรับลงลายมือชื่ออิเล็กทรอนิกส์ (PKCS#12)", upload_to="certificates/", null=True, blank=True
    )
    # Only ciphertext (ita_portal.signing_secrets, key from the environment); never shown on a page.
    signing_pkcs12_password_encrypted = models.TextField("รหัสผ่านใบรับรอง (เข้ารหัสแล้ว)", blank=True, editable=False)
    # Separation of duties: by default the working-group member who approved a plan may not
    # also sign it as signatory (plans.services.plan_sign); a one-person office can allow it.
    approver_may_sign = models.BooleanField(
        "อนุญาตให้ผู้เห็นชอบแผนลงนามประกาศแผนนั้นเอง",
        default=False,
        help_text="ปกติผู้ที่เห็นชอบแผนในฐานะคณะทำงานจะลงนามประกาศแผนฉบับเดียวกันไม่ได้ "
        "เปิดเฉพาะเมื่อหน่วยงานจำเป็นต้องให้คนเดียวทำทั้งสองหน้าที่ ทุกครั้งที่ใช้ข้อยกเว้นนี้ "
        "ระบบบันทึกไว้ในประวัติการพิจารณาของแผน",
    )

    objects = AgencyManager()

    class Meta:
        verbose_name = "หน่วยงาน"
        verbose_name_plural = "หน่วยงาน"
        ordering = ["province", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.code,)

    def signing_password(self):
        """The certificate's password in clear, for pyHanko only ("" when none is stored).
        Raises signing_secrets.UnreadableSecret when SIGNING_SECRET_KEY is not the key it was saved under."""
        return signing_secrets.decrypt(self.signing_pkcs12_password_encrypted)

    def set_signing_password(self, password):
        self.signing_pkcs12_password_encrypted = signing_secrets.encrypt(password)


class FiscalYearManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, year):
        return self.get(year=year)


class FiscalYear(models.Model):
    """A Thai fiscal year (Buddhist era) and, through its items, the ITA framework of that year."""

    year = models.PositiveIntegerField("ปีงบประมาณ (พ.ศ.)", unique=True)
    name = models.CharField("ชื่อกรอบการประเมิน", max_length=255, blank=True)
    notes = models.TextField("หมายเหตุ", blank=True)

    objects = FiscalYearManager()

    class Meta:
        verbose_name = "ปีงบประมาณและกรอบการประเมิน"
        verbose_name_plural = "ปีงบประมาณและกรอบการประเมิน"
        ordering = ["-year"]

    def __str__(self):
        return f"ปีงบประมาณ {self.year}"

    def natural_key(self):
        return (self.year,)


class FrameworkItemManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, year, code):
        return self.get(fiscal_year__year=year, code=code)


class FrameworkItem(models.Model):
    """One node of a year's framework tree: overall → tools → indicators → sub-indicators → questions.

    The root (kind=overall) is scored as the weighted sum of the tools; every other
    node as the mean of its children (see assessments.scoring)."""

    class Kind(models.TextChoices):
        OVERALL = "overall", "คะแนนรวม"
        TOOL = "tool", "เครื่องมือ"
        INDICATOR = "indicator", "ตัวชี้วัด"
        SUB_INDICATOR = "sub_indicator", "ตัวชี้วัดย่อย"
        QUESTION = "question", "ข้อคำถาม/รายการ"

    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.CASCADE, related_name="items", verbose_name="ปีงบประมาณ"
    )
    kind = models.CharField("ประเภท", max_length=16, choices=Kind.choices)
    code = models.CharField("รหัส", max_length=16, help_text="เช่น overall, IIT, 1, 9.1, i1, e4, O12")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children", verbose_name="อยู่ภายใต้"
    )
    name = models.CharField("ชื่อ", max_length=500)
    order = models.PositiveIntegerField("ลำดับ", default=0)
    weight = models.DecimalField(
        "น้ำหนัก (สัดส่วน)", max_digits=5, decimal_places=4, null=True, blank=True, help_text="เฉพาะเครื่องมือ เช่น 0.30"
    )
    counts_for_level = models.BooleanField(
        "ใช้พิจารณาระดับผลการประเมิน", default=True, help_text="เฉพาะเครื่องมือ: ทุกเครื่องมือที่เลือกต้องถึงเกณฑ์ขั้นต่ำของระดับ"
    )
    has_parts = models.BooleanField(
        "มีคะแนนแยก EITPublic / EITSurvey", default=False, help_text="เฉพาะข้อคำถาม EIT"
    )

    objects = FrameworkItemManager()

    class Meta:
        verbose_name = "องค์ประกอบกรอบการประเมิน"
        verbose_name_plural = "องค์ประกอบกรอบการประเมิน"
        ordering = ["fiscal_year", "order"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "code"], name="unique_item_code_per_year"),
        ]

    def __str__(self):
        return f"{self.label} ({self.fiscal_year.year})"

    @property
    def label(self):
        return item_label(self.kind, self.code, self.name)

    def natural_key(self):
        return (self.fiscal_year.year, self.code)

    natural_key.dependencies = ["assessments.fiscalyear"]

    def as_node(self):
        """This item as the scoring engine sees it (select_related("parent") to avoid a query)."""
        from assessments import scoring

        return scoring.Node(
            code=self.code,
            kind=self.kind,
            name=self.name,
            parent=self.parent.code if self.parent_id else None,
            order=self.order,
            weight=self.weight,
            counts_for_level=self.counts_for_level,
            has_parts=self.has_parts,
        )


class LevelRuleManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, year, name):
        return self.get(fiscal_year__year=year, name=name)


class LevelRule(models.Model):
    """A level of the year's scheme. Rules are tried from the highest rank down;
    the first whose minimums are met gives the level."""

    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.CASCADE, related_name="level_rules", verbose_name="ปีงบประมาณ"
    )
    name = models.CharField("ชื่อระดับ", max_length=100)
    rank = models.PositiveIntegerField("ลำดับ (มากคือสูงกว่า)")
    min_overall = models.DecimalField("คะแนนรวมขั้นต่ำ", max_digits=5, decimal_places=2)
    min_each_tool = models.DecimalField(
        "คะแนนขั้นต่ำของทุกเครื่องมือที่ใช้พิจารณา",
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="เว้นว่างถ้าระดับนี้พิจารณาจากคะแนนรวมอย่างเดียว",
    )
    passed = models.BooleanField("ถือว่าผ่านเกณฑ์", default=True)

    objects = LevelRuleManager()

    class Meta:
        verbose_name = "เกณฑ์ระดับผลการประเมิน"
        verbose_name_plural = "เกณฑ์ระดับผลการประเมิน"
        ordering = ["fiscal_year", "-rank"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "name"], name="unique_level_name_per_year"),
        ]

    def __str__(self):
        return f"{self.name} ({self.fiscal_year.year})"

    def natural_key(self):
        return (self.fiscal_year.year, self.name)

    natural_key.dependencies = ["assessments.fiscalyear"]


class AssessmentManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, agency_code, year):
        return self.get(agency__code=agency_code, fiscal_year__year=year)


class Assessment(models.Model):
    """One agency's ITA result for one fiscal year. Official figures live in Score rows;
    the summary fields below are derived by services.assessment_refresh for filtering."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="assessments", verbose_name="หน่วยงาน")
    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.PROTECT, related_name="assessments", verbose_name="ปีงบประมาณ"
    )
    notes = models.TextField("หมายเหตุ", blank=True)
    # Derived, refreshed after every score change; never edited by hand.
    overall = models.DecimalField("คะแนนรวม", max_digits=7, decimal_places=4, null=True, blank=True, editable=False)
    level = models.CharField("ระดับผลการประเมิน", max_length=100, blank=True, editable=False)
    urgent_indicator_count = models.PositiveIntegerField("ตัวชี้วัดต่ำกว่า ๘๕", default=0, editable=False)
    updated_at = models.DateTimeField("แก้ไขล่าสุด", auto_now=True)
    # Bumped on every save of the score page; a save from an older copy is refused (no lost updates).
    version = models.PositiveIntegerField("ฉบับที่", default=0, editable=False)

    objects = AssessmentManager()
    history = HistoricalRecords(excluded_fields=["overall", "level", "urgent_indicator_count", "updated_at"])

    class Meta:
        verbose_name = "ผลการประเมิน"
        verbose_name_plural = "ผลการประเมิน"
        ordering = ["-fiscal_year__year", "agency__name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "fiscal_year"], name="unique_assessment_per_year"),
        ]

    def __str__(self):
        return f"{self.agency.name} ปีงบประมาณ {self.fiscal_year.year}"

    def natural_key(self):
        return (self.agency.code, self.fiscal_year.year)

    natural_key.dependencies = ["assessments.agency", "assessments.fiscalyear"]


class ScoreManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, agency_code, year, item_code, part):
        return self.get(
            assessment__agency__code=agency_code,
            assessment__fiscal_year__year=year,
            item__code=item_code,
            part=part,
        )


class ScoreHistoryFields(models.Model):
    """What a score's historical row records besides the score's own fields: the value before
    the change (so "old → new" reads from one row, even when the score was written before any
    history was kept) and the import that made the change, if one did."""

    old_value = models.DecimalField("คะแนนเดิม", max_digits=5, decimal_places=2, null=True, blank=True)
    # No database constraint, as simple-history's own links from a historical row: a national
    # import writes ~90,000 of these rows, and PostgreSQL checks a constraint row by row at
    # commit (measured: a quarter of what the rows cost). Deleting a batch still empties the link
    # (Django's on_delete), and the batch is created before the import that points to it.
    import_batch = models.ForeignKey(
        "assessments.ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="score_changes",
        verbose_name="การนำเข้า",
    )

    class Meta:
        abstract = True


class Score(models.Model):
    """An official figure as the NACC published it: the overall, a tool, an indicator,
    a sub-indicator, a question, or one EIT part of a question."""

    class Part(models.TextChoices):
        WHOLE = "", "คะแนน"
        PUBLIC = "public", "EITPublic"
        SURVEY = "survey", "EITSurvey"

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="scores", verbose_name="ผลการประเมิน")
    item = models.ForeignKey(FrameworkItem, on_delete=models.PROTECT, related_name="scores", verbose_name="รายการ")
    part = models.CharField("ส่วน", max_length=8, choices=Part.choices, default=Part.WHOLE, blank=True)
    value = score_field(verbose_name="คะแนน")

    objects = ScoreManager()
    # The score page and the import write these rows themselves, with the old value, through
    # record_score_changes; other saves (shell, loaddata of a model save) get simple-history's own.
    # No index on the historical rows' item: no page looks history up by item, and every index
    # is written once per row of a national import. The user link, like the import batch's
    # (ScoreHistoryFields), has no database constraint, which PostgreSQL would check row by row
    # at commit: deleting a user still empties it (Django's on_delete), with or without one.
    history = HistoricalRecords(bases=[ScoreHistoryFields], no_db_index=["item"], user_db_constraint=False)

    class Meta:
        verbose_name = "คะแนน"
        verbose_name_plural = "คะแนน"
        # Ranks: how many scores of an indicator lie above (or at or below) a value, from the index alone.
        indexes = [models.Index(fields=["item", "value"], condition=models.Q(part=""), name="score_item_value_whole")]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "item", "part"], name="unique_score_per_item_part"),
            models.CheckConstraint(
                condition=models.Q(value__gte=0) & models.Q(value__lte=100), name="score_between_0_and_100"
            ),
        ]

    def __str__(self):
        suffix = f":{self.part}" if self.part else ""
        return f"{self.item.code}{suffix} = {self.value}"

    def natural_key(self):
        return (self.assessment.agency.code, self.assessment.fiscal_year.year, self.item.code, self.part)

    natural_key.dependencies = ["assessments.assessment", "assessments.frameworkitem"]


HISTORY_COLUMNS = ["id", "assessment_id", "item_id", "part", "value", "old_value", "history_type", "history_date",
                   "history_user_id", "import_batch_id"]
SCORE_COLUMNS = ["assessment_id", "item_id", "part", "value"]


def _names(columns):
    return ", ".join(connection.ops.quote_name(column) for column in columns)


def _decimal(value):
    return None if value is None else connection.ops.adapt_decimalfield_value(value, 5, 2)


def _rows_per_statement(width):
    # As many rows as the database takes parameters in one statement (SQLite: 999), at most 1,000.
    return min(1000, (connection.features.max_query_params or 10_000) // width)


def _insert_values(cursor, head, rows, width, tail="", extra_params=(), returning=False):
    """`head` VALUES (…), (…) `tail` for the rows, as many rows a statement as the database
    allows; with `returning`, the rows the statements return (a RETURNING `tail`). Plain
    multi-row INSERTs of tuples, not bulk_create: building ~90,000 model instances and their SQL
    field by field cost more than the insert itself on a national import; and not executemany,
    which PostgreSQL's driver runs as one statement per row (and SQLite runs slower)."""
    placeholder = "(" + ", ".join(["%s"] * width) + ")"
    per_statement = _rows_per_statement(width)
    returned = []
    for start in range(0, len(rows), per_statement):
        chunk = rows[start:start + per_statement]
        cursor.execute(
            f"{head} VALUES {', '.join([placeholder] * len(chunk))}{tail}",
            [value for row in chunk for value in row] + list(extra_params),
        )
        if returning:
            returned.extend(cursor.fetchall())
    return returned


def instances_insert(model, instances, *, returning, unique_fields=(), update_fields=(), increment=()):
    """INSERT model instances (every concrete field but the primary key, prepared as bulk_create
    prepares it, defaults and auto_now included) and return the `returning` columns of each row
    written, in no particular order: in multi-row statements, or on PostgreSQL, for a plain
    insert, with COPY after drawing the ids from the table's sequence (see _copy).

    With `unique_fields`, an upsert: a row that exists is updated instead, its `update_fields`
    set to the new values and its `increment` fields raised by one. For the import's thousands of
    agencies and assessments, without bulk_create's SQL compiled value by value."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    copy = connection.vendor == "postgresql" and not unique_fields
    # Most columns repeat a few values (defaults, a type, a level): each distinct value of a
    # column is prepared once.
    prepared = [(field, {}) for field in fields]
    rows = []
    for obj in instances:
        row = []
        for field, cache in prepared:
            value = field.pre_save(obj, True)
            try:
                row.append(cache[value])
            except KeyError:
                db_value = field.get_db_prep_save(value, connection)
                row.append(cache.setdefault(value, _copy_text(db_value) if copy else db_value))
            except TypeError:  # unhashable (a JSON value)
                db_value = field.get_db_prep_save(value, connection)
                row.append(_copy_text(db_value) if copy else db_value)
        rows.append(row)
    if not rows:
        return []
    if copy:
        with connection.cursor() as cursor:
            ids = _ids(cursor, meta.db_table, len(rows))
            _copy(cursor, meta.db_table, [meta.pk.column, *(f.column for f in fields)], "".join(
                f"{pk:d}\t" + "\t".join(row) + "\n" for pk, row in zip(ids, rows, strict=True)
            ))
        # What RETURNING would give: the drawn id, the other columns as sent (instances unchanged).
        attnames = [None if name == "pk" else meta.get_field(name).attname for name in returning]
        return [
            tuple(pk if name is None else getattr(obj, name) for name in attnames)
            for obj, pk in zip(instances, ids, strict=True)
        ]
    ops = connection.ops
    table = ops.quote_name(meta.db_table)
    columns = [meta.get_field(name).column for name in (*unique_fields, *update_fields, *increment)]
    tail = ""
    if unique_fields:
        keys = columns[:len(unique_fields)]
        sets = [f"{ops.quote_name(c)} = EXCLUDED.{ops.quote_name(c)}"
                for c in columns[len(unique_fields):len(unique_fields) + len(update_fields)]]
        sets += [f"{ops.quote_name(c)} = {table}.{ops.quote_name(c)} + 1" for c in columns[-len(increment):]] \
            if increment else []
        tail = f" ON CONFLICT ({_names(keys)}) DO UPDATE SET {', '.join(sets)}"
    tail += f" RETURNING {_names((meta.pk if name == 'pk' else meta.get_field(name)).column for name in returning)}"
    with connection.cursor() as cursor:
        return _insert_values(cursor, f"INSERT INTO {table} ({_names(f.column for f in fields)})", rows,
                              len(fields), tail=tail, returning=True)


def _who(user, batch, when):
    at = connection.ops.adapt_datetimefield_value(when or timezone.now())
    user_id = user.pk if user is not None and user.is_authenticated else None
    return at, user_id, batch.pk if batch is not None else None


# PostgreSQL: the import's new rows go in with COPY, as text lines built here. A national
# import's multi-row INSERTs spent more time having their 400,000 parameters quoted by the driver
# and parsed by the server than writing the rows (measured: COPY of the scores and of their
# historical rows together costs about what the INSERT of the scores alone did). The lines of
# scores and historical rows hold ints, Decimals, None and Score.Part's values only, so nothing in
# them needs escaping (_copy_part refuses any other part rather than let a tab or a backslash
# through); the values of other models (an agency's name) go through _copy_text, which escapes.
PART_VALUES = frozenset(Score.Part.values)


def _copy_part(parts):
    parts = set(parts)
    if not parts <= PART_VALUES:
        raise ValueError(f"unknown score part in {sorted(parts - PART_VALUES)!r}")


def _copy(cursor, table, columns, text):
    """COPY `table` (`columns`) FROM STDIN of `text`, tab-separated lines (PostgreSQL). Errors
    come as Django's (IntegrityError…), and the statement is logged as a query is (DEBUG, tests)."""
    sql = f"COPY {connection.ops.quote_name(table)} ({_names(columns)}) FROM STDIN"
    raw = cursor.cursor  # the driver's own cursor, under Django's wrapper
    logged = cursor.debug_sql(sql) if hasattr(cursor, "debug_sql") else contextlib.nullcontext()
    with logged, connection.wrap_database_errors:
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, io.StringIO(text))
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                copy.write(text)


def _copy_text(value):
    """A value as COPY's text format writes it."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(COPY_ESCAPES)
    if isinstance(value, (int, Decimal, float, uuid.UUID)):
        return str(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    raise TypeError(f"no COPY text for {type(value).__name__}")


COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _ids(cursor, table, count):
    """`count` new ids from `table`'s own sequence, as an INSERT would draw them (ids drawn here
    and left unused by a rollback are skipped, as with any INSERT)."""
    # The sequence looked up once: pg_get_serial_sequence per row costs 4 µs, more than nextval.
    cursor.execute(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
        "SELECT nextval(seq) FROM s, generate_series(1, %s)",
        [table, count],
    )
    return [pk for (pk,) in cursor.fetchall()]


def _score_line(pk, assessment_id, item_id, part, value):
    """A score's columns (id and SCORE_COLUMNS) as a COPY line, without its end: the start of its
    historical row's line too."""
    return f"{pk:d}\t{assessment_id:d}\t{item_id:d}\t{part}\t{value}"


def _history_suffix(history_type, at, user_id, batch_id):
    """The end of a historical row's COPY line: its type, when, who and the import batch."""
    return f"\t{history_type}\t{at.isoformat()}\t{_copy_text(user_id)}\t{_copy_text(batch_id)}\n"


def record_score_changes(changes, *, user=None, batch=None, when=None):
    """Write one historical row per changed score: who, when, old and new value.

    `changes`: (score, old value or None, history type) with history type "+" (added; old is
    None) or "~" (changed); a score is a Score or any object with its pk, assessment_id,
    item_id, part and value. The paths that change scores call this: the score page
    (assessments.services.assessment_save_scores) and the import (assessments.resources) for the
    scores it changes, whose rows carry the ImportBatch; the import's new scores get theirs from
    scores_insert_with_history. A deletion's row is simple-history's own (it holds the value)."""
    if not changes:
        return 0
    at, user_id, batch_id = _who(user, batch, when)
    table = Score.history.model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy_part(score.part for score, _, _ in changes)
            suffixes = {t: _history_suffix(t, at, user_id, batch_id) for t in {t for _, _, t in changes}}
            if not set(suffixes) <= {"+", "~"}:
                raise ValueError(f"unknown history type in {sorted(suffixes)!r}")
            _copy(cursor, table, HISTORY_COLUMNS, "".join(
                _score_line(score.pk, score.assessment_id, score.item_id, score.part, score.value)
                + f"\t{_copy_text(old)}{suffixes[history_type]}"
                for score, old, history_type in changes
            ))
        else:
            rows = [
                (score.pk, score.assessment_id, score.item_id, score.part, _decimal(score.value), _decimal(old),
                 history_type, at, user_id, batch_id)
                for score, old, history_type in changes
            ]
            _insert_values(cursor, f"INSERT INTO {connection.ops.quote_name(table)} ({_names(HISTORY_COLUMNS)})",
                           rows, len(HISTORY_COLUMNS))
    return len(changes)


def scores_insert_with_history(rows, *, user=None, batch=None, when=None):
    """Insert new scores, (assessment id, item id, part, value) each, and their "added" historical
    rows (who, when, the batch; no old value), all within the caller's transaction.

    PostgreSQL: the scores' ids are drawn from their sequence first, then the scores and their
    historical rows go in with two COPYs (see _copy). SQLite: the scores in multi-row INSERTs,
    then the historical rows copied by the database in one INSERT … SELECT of the scores whose id
    lies above the highest id before the insert. That set is exactly the rows inserted here: ids
    only grow (AUTOINCREMENT) and SQLite lets one connection write at a time, so no other
    connection adds a score in between (in WAL mode a writer whose snapshot is stale is refused,
    not let through).
    A plain insert: a score that already exists (a concurrent import) raises IntegrityError."""
    if not rows:
        return 0
    at, user_id, batch_id = _who(user, batch, when)
    ops = connection.ops
    scores = ops.quote_name(Score._meta.db_table)
    history = Score.history.model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            _copy_part(row[2] for row in rows)
            ids = _ids(cursor, Score._meta.db_table, len(rows))
            lines = [_score_line(pk, *row) for pk, row in zip(ids, rows, strict=True)]
            _copy(cursor, Score._meta.db_table, ["id", *SCORE_COLUMNS], "\n".join(lines) + "\n")
            suffix = "\t\\N" + _history_suffix("+", at, user_id, batch_id)
            _copy(cursor, history, HISTORY_COLUMNS, suffix.join(lines) + suffix)
        else:
            # The values go to the driver as Decimal, as Django 5.2 sends them (its
            # adapt_decimalfield_value returns them unchanged): no second pass over 90,000 rows.
            cursor.execute(f"SELECT COALESCE(MAX({ops.quote_name('id')}), 0) FROM {scores}")
            (highest,) = cursor.fetchone()
            _insert_values(cursor, f"INSERT INTO {scores} ({_names(SCORE_COLUMNS)})", rows, len(SCORE_COLUMNS))
            cursor.execute(
                f"INSERT INTO {ops.quote_name(history)} ({_names(HISTORY_COLUMNS)}) "
                f"SELECT {_names(['id', *SCORE_COLUMNS])}, NULL, '+', %s, %s, %s FROM {scores} "
                f"WHERE {ops.quote_name('id')} > %s",
                [at, user_id, batch_id, highest],
            )
    return len(rows)


def scores_update(rows):
    """Set the value of existing scores, (assessment id, item id, part, value) each, in
    multi-row upserts on the score's key (their historical rows: record_score_changes)."""
    ops = connection.ops
    value = ops.quote_name("value")
    with connection.cursor() as cursor:
        _insert_values(
            cursor, f"INSERT INTO {ops.quote_name(Score._meta.db_table)} ({_names(SCORE_COLUMNS)})", rows,
            len(SCORE_COLUMNS),
            tail=f" ON CONFLICT ({_names(SCORE_COLUMNS[:3])}) DO UPDATE SET {value} = EXCLUDED.{value}",
        )
    return len(rows)


def item_label(kind, code, name):
    """An item as pages name it: "ตัวชี้วัดที่ 9 การเปิดเผยข้อมูล", "i1 …", "IIT …", "คะแนนรวม"."""
    if kind == FrameworkItem.Kind.INDICATOR:
        return f"ตัวชี้วัดที่ {code} {name}"
    if kind == FrameworkItem.Kind.SUB_INDICATOR:
        return f"ตัวชี้วัดย่อยที่ {code} {name}"
    if kind in (FrameworkItem.Kind.QUESTION, FrameworkItem.Kind.TOOL):
        return f"{code} {name}"
    return name


NODE_COLUMNS = ("pk", "code", "kind", "name", "parent_id", "order", "weight", "counts_for_level", "has_parts")


@dataclasses.dataclass(frozen=True, slots=True)
class ItemRow:
    """A framework item read as a plain row (NODE_COLUMNS), for a page that lists the whole year
    (the admin score page): model instances cost more than everything the page does with them."""

    pk: int
    code: str
    kind: str
    name: str
    parent_id: int | None
    order: int
    weight: Decimal | None
    counts_for_level: bool
    has_parts: bool

    @property
    def label(self):
        return item_label(self.kind, self.code, self.name)


def framework_items(fiscal_year):
    """The year's items as ItemRow, in the framework's order, in one query."""
    rows = FrameworkItem.objects.filter(fiscal_year=fiscal_year).order_by("order", "pk").values_list(*NODE_COLUMNS)
    return [ItemRow(*row) for row in rows]


def framework_nodes(fiscal_year):
    """The year's framework as scoring nodes, in one query (plain rows, as FrameworkItem.as_node
    builds them: model instances would cost more than the scoring itself on every page)."""
    rows = FrameworkItem.objects.filter(fiscal_year=fiscal_year).order_by("order", "pk").values_list(*NODE_COLUMNS)
    return _nodes(list(rows))


def framework_nodes_and_scores(assessment):
    """framework_nodes and the assessment's stored figures {(code, part): value} in one query:
    the year's items, each joined to its stored scores (a row per part; none when it has none)."""
    rows = list(
        FrameworkItem.objects.filter(fiscal_year=assessment.fiscal_year_id)
        .annotate(stored=models.FilteredRelation("scores", condition=models.Q(scores__assessment=assessment.pk)))
        .order_by("order", "pk")
        .values_list(*NODE_COLUMNS, "stored__part", "stored__value")
    )
    official = {(row[1], row[9]): row[10] for row in rows if row[9] is not None}
    # An item with several parts comes once per part: the first row of each item is its node.
    seen = set()
    items = [row[:9] for row in rows if not (row[0] in seen or seen.add(row[0]))]
    return _nodes(items), official


def framework_nodes_of(items):
    """Scoring nodes from framework_items' rows, read already."""
    return _nodes([
        (i.pk, i.code, i.kind, i.name, i.parent_id, i.order, i.weight, i.counts_for_level, i.has_parts) for i in items
    ])


def _nodes(rows):
    from assessments import scoring

    # The parents' codes from the rows themselves (a parent is an item of the same year): no join.
    codes = {row[0]: row[1] for row in rows}
    elsewhere = {row[4] for row in rows if row[4] is not None and row[4] not in codes}
    if elsewhere:  # a parent of another year, which nothing forbids: read as a join would
        codes.update(FrameworkItem.objects.filter(pk__in=elsewhere).values_list("pk", "code"))
    return [
        scoring.Node(
            code=code, kind=kind, name=name, parent=codes.get(parent_id), order=order, weight=weight,
            counts_for_level=counts_for_level, has_parts=has_parts,
        )
        for _, code, kind, name, parent_id, order, weight, counts_for_level, has_parts in rows
    ]


def level_rule_specs(fiscal_year):
    from assessments import scoring

    # Plain rows in LevelRule's order within a year (its Meta ordering would join the year to sort on it).
    rows = LevelRule.objects.filter(fiscal_year=fiscal_year).order_by("-rank").values_list(
        "name", "rank", "min_overall", "min_each_tool", "passed"
    )
    return [scoring.LevelRuleSpec(*row) for row in rows]


def compute_assessment(assessment, nodes=None, rules=None, official=None):
    """Score one assessment from its stored official figures (two queries, fewer when the
    caller has the framework's nodes, the level rules or the stored figures {(code, part): value})."""
    from assessments import scoring

    if nodes is None and official is None:
        nodes, official = framework_nodes_and_scores(assessment)
    if nodes is None:
        nodes = framework_nodes(assessment.fiscal_year_id)
    if rules is None:
        rules = level_rule_specs(assessment.fiscal_year_id)
    if official is None:
        official = {
            (code, part): value
            for code, part, value in assessment.scores.values_list("item__code", "part", "value")
        }
    return scoring.compute(nodes, official, rules)


class Membership(models.Model):
    """A user's role in one agency, or (provincial officer) read-only over one province."""

    class Role(models.TextChoices):
        STAFF = "staff", "เจ้าหน้าที่ (กรอกคะแนน จัดทำแผน)"
        WORKING_GROUP = "working_group", "คณะทำงาน (พิจารณาแผน)"
        SIGNATORY = "signatory", "ผู้ลงนาม (นายก/ผู้บริหาร)"
        VIEWER = "viewer", "ผู้ดูข้อมูล"
        PROVINCIAL = "provincial", "เจ้าหน้าที่ระดับจังหวัด (ดูได้ทั้งจังหวัด)"

    user = models.ForeignKey("auth.User", on_delete=models.CASCADE, related_name="memberships", verbose_name="ผู้ใช้")
    role = models.CharField("บทบาท", max_length=16, choices=Role.choices)
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships", verbose_name="หน่วยงาน"
    )
    province = models.CharField("จังหวัด (เฉพาะเจ้าหน้าที่ระดับจังหวัด)", max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "สิทธิ์ของผู้ใช้ในหน่วยงาน"
        verbose_name_plural = "สิทธิ์ของผู้ใช้ในหน่วยงาน"
        constraints = [
            models.UniqueConstraint(fields=["user", "agency", "role"], name="unique_membership_role"),
            models.CheckConstraint(
                condition=(models.Q(role="provincial") & ~models.Q(province="") & models.Q(agency__isnull=True))
                | (~models.Q(role="provincial") & models.Q(agency__isnull=False)),
                name="membership_has_agency_or_province",
            ),
        ]

    def __str__(self):
        where = self.agency.name if self.agency_id else f"จังหวัด{self.province}"
        return f"{self.user} · {self.get_role_display()} · {where}"


def agencies_for(user, roles=None):
    """Agencies a user may see; with `roles`, only those where the user holds one of them.
    Provincial officers see every agency of their province (read-only roles only)."""
    if not user.is_authenticated:
        return Agency.objects.none()
    if user.is_superuser:
        return Agency.objects.all()
    memberships = Membership.objects.filter(user=user)
    direct = memberships.exclude(role=Membership.Role.PROVINCIAL)
    if roles is not None:
        direct = direct.filter(role__in=roles)
    condition = models.Q(pk__in=direct.values("agency_id"))
    if roles is None or Membership.Role.PROVINCIAL in roles:
        provinces = memberships.filter(role=Membership.Role.PROVINCIAL).values("province")
        condition |= models.Q(province__in=provinces)
    return Agency.objects.filter(condition)


def agencies_filter(memberships, path=None):
    """agencies_for's rule as a condition on agencies (or, with `path`, on a relation to one such
    as "agency" or "plan__agency"), from the user's membership rows read already: (role, agency
    id, province) each. Plain lists of ids and provinces, no subquery: cheaper to build and run
    on every admin page than filtering on agencies_for. Not for a superuser, who sees all."""
    agency_ids = {agency_id for role, agency_id, _ in memberships if role != Membership.Role.PROVINCIAL}
    provinces = {province for role, _, province in memberships if role == Membership.Role.PROVINCIAL}
    condition = models.Q(**{f"{path or 'pk'}__in": sorted(agency_ids)})
    if provinces:
        condition |= models.Q(**{f"{path}__province__in" if path else "province__in": sorted(provinces)})
    return condition


def has_role(user, agency_id, *roles):
    """Whether the user holds one of `roles` in the agency. Superusers manage reference
    data, but reviewing and signing stay with the agency's own people."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, agency_id=agency_id, role__in=roles).exists()


class AnalysisText(models.Model):
    """The analysis paragraph of one indicator (or sub-indicator) in the analysis report,
    as the agency edited it; without one, the report uses the generated paragraph."""

    assessment = models.ForeignKey(
        Assessment, on_delete=models.CASCADE, related_name="analysis_texts", verbose_name="ผลการประเมิน"
    )
    item = models.ForeignKey(FrameworkItem, on_delete=models.CASCADE, related_name="+", verbose_name="ตัวชี้วัด")
    text = models.TextField("บทวิเคราะห์")
    updated_by = models.ForeignKey(
        "auth.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ผู้แก้ไข"
    )
    updated_at = models.DateTimeField("แก้ไขเมื่อ", auto_now=True)

    class Meta:
        verbose_name = "บทวิเคราะห์รายตัวชี้วัด"
        verbose_name_plural = "บทวิเคราะห์รายตัวชี้วัด"
        constraints = [models.UniqueConstraint(fields=["assessment", "item"], name="unique_analysis_per_item")]

    def __str__(self):
        return f"บทวิเคราะห์ตัวชี้วัดที่ {self.item.code}"


class ImportBatch(models.Model):
    """One import of a results file: who, when, the file's hash and the counts.
    Bulk writes leave no per-row history, so this record is the audit trail."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed", "ตรวจสอบแล้ว รอยืนยัน"
        QUEUED = "queued", "รอดำเนินการ"
        RUNNING = "running", "กำลังนำเข้า"
        DONE = "done", "นำเข้าสำเร็จ"
        FAILED = "failed", "นำเข้าไม่สำเร็จ"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ผู้นำเข้า"
    )
    created_at = models.DateTimeField("เมื่อ", auto_now_add=True)
    finished_at = models.DateTimeField("เสร็จเมื่อ", null=True, blank=True)
    file_name = models.CharField("ชื่อไฟล์", max_length=255)
    file = models.FileField("ไฟล์", upload_to="imports/", null=True, blank=True)
    sha256 = models.CharField("SHA-256 ของไฟล์", max_length=64)
    status = models.CharField("สถานะ", max_length=16, choices=Status.choices, default=Status.PREVIEWED)
    rows = models.PositiveIntegerField("จำนวนแถว", default=0)
    processed = models.PositiveIntegerField("ดำเนินการแล้ว", default=0)
    new = models.PositiveIntegerField("คะแนนใหม่", default=0)
    updated = models.PositiveIntegerField("คะแนนที่เปลี่ยน", default=0)
    unchanged = models.PositiveIntegerField("คะแนนที่ไม่เปลี่ยน", default=0)
    agencies_created = models.PositiveIntegerField("หน่วยงานใหม่", default=0)
    errors = models.JSONField("ข้อผิดพลาด", default=list, blank=True)

    class Meta:
        verbose_name = "ประวัติการนำเข้าคะแนน"
        verbose_name_plural = "ประวัติการนำเข้าคะแนน"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self):
        return round(100 * self.processed / self.rows) if self.rows else 0


class AnalysisPhraseManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, key):
        return self.get(key=key)


class AnalysisPhrase(models.Model):
    """Wording the analysis report attaches to an indicator, sub-indicator or question
    (assessments.analysis_text): what a full score shows, what a lower score points to, and what
    to do. A question's finding is printed only when that question scored below 100. Without a
    fiscal year the phrase serves every year whose framework has an item of that code (the ten
    indicators keep their numbers); question numbering changes, so question phrases name a year."""

    key = models.SlugField("รหัสรายการ", max_length=64, unique=True)
    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        verbose_name="ปีงบประมาณ", help_text="เว้นว่าง = ใช้ได้ทุกปีที่มีรหัสนี้",
    )
    code = models.CharField("รหัสตัวชี้วัด/ข้อคำถาม", max_length=16, help_text="เช่น 1, 9.3, i10, e4, O12")
    strength = models.TextField(
        "จุดแข็งเมื่อได้คะแนนเต็ม", blank=True,
        help_text="พิมพ์เมื่อได้ ๑๐๐ คะแนน เขียนเป็นข้อความต่อจาก “สะท้อนว่า”",
    )
    finding = models.TextField(
        "ข้อสังเกตเมื่อคะแนนต่ำกว่า ๑๐๐", blank=True,
        help_text="จุดอ่อนหรือความเสี่ยงที่คะแนนชี้ พิมพ์เฉพาะเมื่อข้อนี้ได้ต่ำกว่า ๑๐๐ เขียนต่อจาก “สะท้อนว่า”",
    )
    advice = models.TextField(
        "แนวทางพัฒนา", blank=True, help_text="พิมพ์เมื่อคะแนนต่ำกว่า ๑๐๐ เขียนต่อจาก “หน่วยงานควร”"
    )

    objects = AnalysisPhraseManager()

    class Meta:
        verbose_name = "ข้อความประกอบบทวิเคราะห์"
        verbose_name_plural = "ข้อความประกอบบทวิเคราะห์"
        ordering = ["fiscal_year", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fiscal_year", "code"], name="unique_phrase_per_year_code"),
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(fiscal_year__isnull=True), name="unique_phrase_code_any_year"
            ),
        ]

    def __str__(self):
        year = f" ({self.fiscal_year.year})" if self.fiscal_year_id else ""
        return f"{self.code}{year}"

    def natural_key(self):
        return (self.key,)

    natural_key.dependencies = ["assessments.fiscalyear"]


def phrases_for(fiscal_year):
    """code → AnalysisPhrase for the year: the year's own phrase, else the one for every year."""
    phrases = {}
    for phrase in AnalysisPhrase.objects.filter(models.Q(fiscal_year=fiscal_year) | models.Q(fiscal_year__isnull=True)):
        if phrase.code not in phrases or phrase.fiscal_year_id is not None:
            phrases[phrase.code] = phrase
    return phrases


class AggregateScore(models.Model):
    """The year's averages of one figure (the overall score, or an indicator) over every agency of
    the nation, of a province, or of a peer group (same province and agency type), as the
    comparison pages and the analysis report quote them. Derived data: written only by
    services.aggregates_refresh after an import, a score edit or the demo data; never by hand."""

    class Scope(models.TextChoices):
        NATIONAL = "national", "ทั้งประเทศ"
        PROVINCE = "province", "จังหวัด"
        PEER = "peer", "กลุ่มเดียวกัน (จังหวัดและประเภทเดียวกัน)"

    fiscal_year = models.ForeignKey(
        FiscalYear, on_delete=models.CASCADE, related_name="aggregates", verbose_name="ปีงบประมาณ"
    )
    scope = models.CharField("ขอบเขต", max_length=16, choices=Scope.choices)
    province = models.CharField("จังหวัด", max_length=100, blank=True)
    agency_type = models.CharField("ประเภทหน่วยงาน", max_length=32, blank=True)
    # The year's overall item (figures: Assessment.overall) or one of its indicators (official Score rows).
    item = models.ForeignKey(FrameworkItem, on_delete=models.CASCADE, related_name="+", verbose_name="รายการ")
    # The exact sum: the mean is total / count, computed in Decimal when read.
    total = models.DecimalField("ผลรวมคะแนน", max_digits=16, decimal_places=4)
    count = models.PositiveIntegerField("จำนวนหน่วยงาน")
    # Indicator: scores of 85 or more; overall: assessments whose level is a passing level.
    pass_count = models.PositiveIntegerField("จำนวนที่ผ่านเกณฑ์")

    class Meta:
        verbose_name = "ค่าเฉลี่ยคะแนน"
        verbose_name_plural = "ค่าเฉลี่ยคะแนน"
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "province", "agency_type", "scope", "item"], name="unique_aggregate_per_group"
            ),
        ]

    def __str__(self):
        where = " ".join(filter(None, [self.get_scope_display(), self.province, self.agency_type]))
        return f"{where} {self.item_id}: {self.mean}"

    @property
    def mean(self):
        return self.total / self.count if self.count else None

    @property
    def pass_rate(self):
        """Share passing, in percent (unrounded)."""
        return Decimal(100) * self.pass_count / self.count if self.count else None
