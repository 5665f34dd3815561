import uuid

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from assessments.models import Agency, Assessment, FrameworkItem
from ita_portal import thai


class Band(models.TextChoices):
    URGENT = "urgent", "ข้อบกพร่องหรือจุดอ่อนที่ต้องแก้ไขโดยเร่งด่วน"
    IMPROVE = "improve", "ประเด็นที่ต้องพัฒนาให้ดีขึ้น"
    MAINTAIN = "maintain", "รักษาระดับ"
    # A driving-plan measure for an indicator whose score was not published.
    UNSCORED = "unscored", "ยังไม่มีคะแนนที่ประกาศ"


class AgencyUnit(models.Model):
    """A division of the agency that can be responsible for a measure (สำนักปลัด, กองคลัง…)."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="units", verbose_name="หน่วยงาน")
    name = models.CharField("ชื่อส่วนราชการ/กอง", max_length=200)
    order = models.PositiveIntegerField("ลำดับ", default=0)

    class Meta:
        verbose_name = "ส่วนราชการภายใน"
        verbose_name_plural = "ส่วนราชการภายใน"
        ordering = ["agency", "order", "name"]
        constraints = [models.UniqueConstraint(fields=["agency", "name"], name="unique_unit_name_per_agency")]

    def __str__(self):
        return self.name


class MeasureTemplateManager(models.Manager):
    use_in_migrations = True

    def get_by_natural_key(self, key):
        return self.get(key=key)


class MeasureTemplate(models.Model):
    """An entry of the measure library, keyed by indicator number and optionally a
    question code. Text fields may use {agency}, {indicator}, {score}, {year} and
    {target_year}, which drafting fills in from the data."""

    key = models.SlugField("รหัสรายการ", max_length=64, unique=True)
    indicator_number = models.CharField("ตัวชี้วัด", max_length=8, help_text="เช่น 1, 9, 10")
    question_code = models.CharField("ข้อคำถาม/รายการ", max_length=16, blank=True, help_text="เช่น i10, e4, O12")
    band = models.CharField(
        "ใช้กับกลุ่ม", max_length=16, choices=Band.choices, blank=True, help_text="เว้นว่าง = ใช้ได้ทุกกลุ่ม"
    )
    weakness = models.TextField("ประเด็นที่เป็นข้อบกพร่อง/ที่ต้องพัฒนา")
    title = models.TextField("มาตรการ/โครงการ/กิจกรรม")
    analysis = models.TextField("ผลการวิเคราะห์ที่สอดคล้องกับมาตรการ", blank=True)
    steps = models.TextField("ขั้นตอนหรือวิธีการปฏิบัติ")
    quarters = models.CharField("ไตรมาสที่ดำเนินการ", max_length=16, default="1,2,3,4")
    responsible_units = models.CharField(
        "ผู้รับผิดชอบ", max_length=255, default="ทุกกอง", help_text="ชื่อกองคั่นด้วยจุลภาค หรือ ทุกกอง"
    )
    monitoring = models.TextField("แนวทางการกำกับติดตาม")

    objects = MeasureTemplateManager()

    class Meta:
        verbose_name = "คลังมาตรการ"
        verbose_name_plural = "คลังมาตรการ"
        ordering = ["indicator_number", "question_code", "band"]

    def __str__(self):
        target = self.question_code or f"ตัวชี้วัดที่ {self.indicator_number}"
        return f"{target}: {self.title[:60]}"

    def natural_key(self):
        return (self.key,)


class Plan(models.Model):
    """The improvement plan of one agency for fiscal year N+1, drafted from the
    assessment of year N. A signed plan never changes; revising makes a new revision."""

    class Status(models.TextChoices):
        DRAFT = "draft", "ร่าง"
        SUBMITTED = "submitted", "เสนอคณะทำงานพิจารณา"
        CHANGES_REQUESTED = "changes_requested", "ส่งกลับให้แก้ไข"
        APPROVED = "approved", "คณะทำงานเห็นชอบ"
        SIGNED = "signed", "ลงนามประกาศแล้ว"

    EDITABLE = (Status.DRAFT, Status.CHANGES_REQUESTED)

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="plans", verbose_name="หน่วยงาน")
    assessment = models.ForeignKey(
        Assessment, on_delete=models.PROTECT, related_name="plans", verbose_name="ผลการประเมินที่ใช้จัดทำแผน"
    )
    target_year = models.PositiveIntegerField("ปีงบประมาณของแผน (พ.ศ.)")
    # 1 = the first plan; 2 = ฉบับปรับปรุงครั้งที่ 1, and so on (revision_label prints it).
    revision = models.PositiveIntegerField("ลำดับฉบับ (1 = ฉบับแรก)", default=1)
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="next_revision", verbose_name="ฉบับก่อนหน้า"
    )
    title = models.CharField("ชื่อแผน", max_length=500)
    background = models.TextField("ที่มาและความสำคัญ", blank=True)
    status = models.CharField("สถานะ", max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ผู้จัดทำ"
    )
    created_at = models.DateTimeField("สร้างเมื่อ", auto_now_add=True)
    updated_at = models.DateTimeField("แก้ไขล่าสุด", auto_now=True)
    # Recorded at signing, exactly as they will print.
    signatory_name = models.CharField("ชื่อผู้ลงนาม", max_length=200, blank=True)
    signatory_position = models.CharField("ตำแหน่งผู้ลงนาม", max_length=300, blank=True)
    announced_on = models.DateField("วันที่ประกาศ", null=True, blank=True)
    meeting_number = models.CharField("ครั้งที่ประชุมคณะทำงาน", max_length=20, blank=True, help_text="เช่น 1/2568")
    meeting_date = models.DateField("วันที่ประชุมคณะทำงาน", null=True, blank=True)
    signature_image = models.ImageField("ภาพลายมือชื่อ", upload_to="signatures/%Y/", null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ผู้ลงนาม"
    )
    signed_at = models.DateTimeField("ลงนามเมื่อ", null=True, blank=True)
    public_id = models.UUIDField("รหัสอ้างอิงสาธารณะ", default=uuid.uuid4, unique=True, editable=False)
    # Bumped on every save; a save from an older copy is refused (no lost updates).
    version = models.PositiveIntegerField("ฉบับที่", default=0, editable=False)
    # A driving plan (แผนขับเคลื่อน) is drafted when some indicator scores were not
    # published: the codes of those indicators, as they were at drafting.
    unscored_indicators = models.JSONField(
        "ตัวชี้วัดที่ไม่มีคะแนนที่ประกาศ", default=list, blank=True, editable=False,
        help_text="แผนขับเคลื่อน: มาตรการของตัวชี้วัดเหล่านี้จัดทำจากคลังมาตรการโดยไม่มีคะแนนประกอบ",
    )

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = "แผนยกระดับผลการประเมิน"
        verbose_name_plural = "แผนยกระดับผลการประเมิน"
        ordering = ["-target_year", "agency__name", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "target_year", "revision"], name="unique_plan_revision"),
        ]

    def __str__(self):
        suffix = f" ({self.revision_label})" if self.revision > 1 else ""
        return f"{self.agency.name} ปีงบประมาณ {self.target_year}{suffix}"

    @property
    def revision_label(self):
        """The one way a revision is named, in the portal, the admin, the documents and the
        public page: "ฉบับแรก", "ฉบับปรับปรุงครั้งที่ 1", …"""
        return f"ฉบับปรับปรุงครั้งที่ {self.revision - 1}" if self.revision > 1 else "ฉบับแรก"

    @property
    def file_suffix(self):
        """Part of a file name: "" for the first plan, "-rev1" for ฉบับปรับปรุงครั้งที่ 1."""
        return f"-rev{self.revision - 1}" if self.revision > 1 else ""

    @property
    def is_editable(self):
        return self.status in self.EDITABLE

    @property
    def is_signed(self):
        return self.status == self.Status.SIGNED

    @property
    def is_driving_plan(self):
        return bool(self.unscored_indicators)

    @property
    def unscored_indicators_display(self):
        """ตัวชี้วัดที่ 1, 2 และ 10 — the indicators the driving plan covers without a score."""
        codes = [str(c) for c in self.unscored_indicators]
        if len(codes) > 1:
            return "ตัวชี้วัดที่ " + ", ".join(codes[:-1]) + " และ " + codes[-1]
        return f"ตัวชี้วัดที่ {codes[0]}" if codes else ""


def quarter_numbers(text):
    """Measure.quarters as numbers: "1,3" -> [1, 3]."""
    return [int(q) for q in text.split(",") if q.strip().isdigit()]


class Measure(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="measures", verbose_name="แผน")
    order = models.PositiveIntegerField("ลำดับ", default=0)
    indicator = models.ForeignKey(
        FrameworkItem,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "indicator"},
        verbose_name="ตัวชี้วัด",
    )
    questions = models.ManyToManyField(
        FrameworkItem, blank=True, related_name="+", limit_choices_to={"kind": "question"}, verbose_name="ข้อคำถาม"
    )
    band = models.CharField("กลุ่ม", max_length=16, choices=Band.choices)
    score = models.DecimalField("คะแนน", max_digits=5, decimal_places=2, null=True, blank=True)
    weakness = models.TextField("ประเด็นที่เป็นข้อบกพร่อง/ที่ต้องพัฒนา", blank=True)
    title = models.TextField("มาตรการ/โครงการ/กิจกรรม")
    analysis = models.TextField("ผลการวิเคราะห์ที่สอดคล้องกับผลการประเมิน", blank=True)
    steps = models.TextField("ขั้นตอนหรือวิธีการปฏิบัติ", blank=True)
    quarters = models.CharField(
        "ไตรมาสที่ดำเนินการ", max_length=16, blank=True, help_text="เช่น 1,2,3,4 หรือเว้นว่างแล้วระบุช่วงวันที่"
    )
    period_start = models.DateField("เริ่ม", null=True, blank=True)
    period_end = models.DateField("สิ้นสุด", null=True, blank=True)
    units = models.ManyToManyField(AgencyUnit, blank=True, related_name="measures", verbose_name="ผู้รับผิดชอบ")
    all_units = models.BooleanField("ทุกกอง", default=False)
    owner = models.CharField(
        "ผู้รับผิดชอบหลัก", max_length=200, blank=True, help_text="ชื่อหรือตำแหน่ง เช่น ปลัดองค์การบริหารส่วนตำบล"
    )
    deadline = models.DateField("กำหนดแล้วเสร็จ", null=True, blank=True)
    monitoring = models.TextField("แนวทางการกำกับติดตาม", blank=True)
    template = models.ForeignKey(
        MeasureTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="จากคลังมาตรการ"
    )
    # The measure of the previous revision this one was copied from: what changed between
    # revisions is matched on it, and progress carries over along it.
    copied_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="copies", verbose_name="คัดลอกจากมาตรการ"
    )
    # Bumped on every save in the portal's editor; an edit from an older copy is refused.
    version = models.PositiveIntegerField("ฉบับที่", default=0, editable=False)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "มาตรการ"
        verbose_name_plural = "มาตรการ"
        ordering = ["plan", "order", "pk"]

    def __str__(self):
        return self.title[:80]

    @property
    def quarter_list(self):
        return quarter_numbers(self.quarters)

    def period_display(self, digits="thai"):
        if self.quarter_list:
            return thai.format_quarters(self.quarter_list, self.plan.target_year, digits=digits)
        if self.period_start and self.period_end:
            return thai.format_date_range(self.period_start, self.period_end, digits=digits)
        return ""

    def units_display(self, units=None):
        """The responsible divisions as documents print them, with the main owner in
        parentheses when one is named: "กองคลัง (ผู้อำนวยการกองคลัง)". `units`: the measure's
        units, or their names, when the caller has them."""
        if self.all_units:
            names = "ทุกกอง"
        else:
            units = units if units is not None else self.units.all()
            names = ", ".join(u if isinstance(u, str) else u.name for u in units)
        if self.owner:
            return f"{names} ({self.owner})" if names else self.owner
        return names


class ReviewComment(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="comments", verbose_name="แผน")
    measure = models.ForeignKey(
        Measure, on_delete=models.CASCADE, null=True, blank=True, related_name="comments", verbose_name="มาตรการ"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="ผู้ให้ความเห็น")
    body = models.TextField("ความเห็น")
    created_at = models.DateTimeField("เมื่อ", auto_now_add=True)

    class Meta:
        verbose_name = "ความเห็นของคณะทำงาน"
        verbose_name_plural = "ความเห็นของคณะทำงาน"
        ordering = ["created_at", "pk"]

    def __str__(self):
        return self.body[:60]


class Transition(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="transitions", verbose_name="แผน")
    from_status = models.CharField("จากสถานะ", max_length=20, choices=Plan.Status.choices, blank=True)
    to_status = models.CharField("เป็นสถานะ", max_length=20, choices=Plan.Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="ผู้ดำเนินการ")
    comment = models.TextField("ความเห็น", blank=True)
    at = models.DateTimeField("เมื่อ", auto_now_add=True)

    class Meta:
        verbose_name = "ประวัติการพิจารณา"
        verbose_name_plural = "ประวัติการพิจารณา"
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_from_status_display() or '-'} → {self.get_to_status_display()}"


class Progress(models.Model):
    """What was done on one measure in one quarter of the plan's fiscal year."""

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "ยังไม่ดำเนินการ"
        IN_PROGRESS = "in_progress", "อยู่ระหว่างดำเนินการ"
        DONE = "done", "ดำเนินการแล้วเสร็จ"
        CANCELLED = "cancelled", "ยกเลิก"

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="progress", verbose_name="มาตรการ")
    quarter = models.PositiveSmallIntegerField("ไตรมาส", choices=[(q, f"ไตรมาส {q}") for q in range(1, 5)])
    status = models.CharField("สถานะ", max_length=16, choices=Status.choices, default=Status.NOT_STARTED)
    note = models.TextField("ผลการดำเนินงาน", blank=True)
    evidence_url = models.URLField("ลิงก์หลักฐาน", blank=True)
    evidence_file = models.FileField("ไฟล์หลักฐาน", upload_to="evidence/%Y/", null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ผู้บันทึก"
    )
    updated_at = models.DateTimeField("บันทึกเมื่อ", auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = "ผลการดำเนินงาน"
        verbose_name_plural = "ผลการดำเนินงาน"
        ordering = ["measure", "quarter"]
        constraints = [models.UniqueConstraint(fields=["measure", "quarter"], name="unique_progress_per_quarter")]

    def __str__(self):
        return f"ไตรมาส {self.quarter}: {self.get_status_display()}"


def _document_path(instance, filename):
    # Non-guessable: the file name is a random token, not the plan id.
    return f"documents/{instance.plan.agency.code}/{uuid.uuid4().hex}.pdf"


class StoredDocument(models.Model):
    """A published PDF, generated once and served byte for byte afterwards."""

    class Kind(models.TextChoices):
        ANNOUNCEMENT = "announcement", "ประกาศมาตรการ"
        PROGRESS = "progress", "รายงานผลการดำเนินงาน"

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="documents", verbose_name="แผน")
    kind = models.CharField("ประเภทเอกสาร", max_length=16, choices=Kind.choices)
    title = models.CharField("ชื่อเอกสาร", max_length=500)
    file = models.FileField("ไฟล์", upload_to=_document_path)
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    verify_code = models.CharField("รหัสตรวจสอบ", max_length=16, unique=True)
    digitally_signed = models.BooleanField("ลงลายมือชื่ออิเล็กทรอนิกส์ (PAdES)", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="ผู้จัดทำ"
    )
    created_at = models.DateTimeField("เผยแพร่เมื่อ", auto_now_add=True)

    class Meta:
        verbose_name = "เอกสารที่เผยแพร่"
        verbose_name_plural = "เอกสารที่เผยแพร่"
        ordering = ["-created_at"]

    def __str__(self):
        return self.title


class BulkRenderJob(models.Model):
    """Rendering many agencies' documents in the background into one ZIP."""

    class Kind(models.TextChoices):
        ANALYSIS = "analysis", "รายงานการวิเคราะห์ผลการประเมิน"
        ANNOUNCEMENT = "announcement", "ประกาศมาตรการ"

    class Status(models.TextChoices):
        QUEUED = "queued", "รอดำเนินการ"
        RUNNING = "running", "กำลังสร้างเอกสาร"
        DONE = "done", "เสร็จแล้ว"
        FAILED = "failed", "ไม่สำเร็จ"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name="ผู้สั่ง")
    kind = models.CharField("เอกสาร", max_length=16, choices=Kind.choices)
    fiscal_year = models.PositiveIntegerField("ปีงบประมาณที่ประเมิน (พ.ศ.)")
    province = models.CharField("จังหวัด", max_length=100, blank=True)
    status = models.CharField("สถานะ", max_length=16, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField("จำนวนเอกสาร", default=0)
    done = models.PositiveIntegerField("สร้างแล้ว", default=0)
    failures = models.JSONField("เอกสารที่สร้างไม่สำเร็จ", default=list, blank=True)
    archive = models.FileField("ไฟล์ ZIP", upload_to="bulk/", null=True, blank=True)
    created_at = models.DateTimeField("สั่งเมื่อ", auto_now_add=True)
    finished_at = models.DateTimeField("เสร็จเมื่อ", null=True, blank=True)

    class Meta:
        verbose_name = "งานสร้างเอกสารจำนวนมาก"
        verbose_name_plural = "งานสร้างเอกสารจำนวนมาก"
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_kind_display()} ปี {self.fiscal_year} {self.province or 'ทุกจังหวัด'}"

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 0


class RenderedDocument(models.Model):
    """A document rendered ahead in the background (ita_portal.prerender), kept with the
    SHA-256 of the inputs it was built from: the rows the document prints and the version of
    the templates and code that lay it out. A download serves these bytes only while the
    inputs still hash the same; anything else is rendered again. One row per document
    (kind, object, format), replaced in place."""

    class Kind(models.TextChoices):
        ANALYSIS = "analysis", "รายงานการวิเคราะห์ผลการประเมิน"
        PLAN = "plan", "แผนมาตรการ"
        ANNOUNCEMENT = "announcement", "ร่างประกาศมาตรการ"
        PROGRESS = "progress", "รายงานผลการดำเนินงาน"

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "Word"

    kind = models.CharField("ประเภทเอกสาร", max_length=16, choices=Kind.choices)
    # The assessment (analysis) or the plan (plan, announcement, progress).
    object_id = models.PositiveIntegerField("รหัสผลการประเมินหรือแผน")
    format = models.CharField("รูปแบบไฟล์", max_length=8, choices=Format.choices, default=Format.PDF)
    inputs_hash = models.CharField("SHA-256 ของข้อมูลที่ใช้สร้าง", max_length=64)
    data = models.BinaryField("ไฟล์")
    created_at = models.DateTimeField("สร้างเมื่อ", auto_now=True)

    class Meta:
        verbose_name = "เอกสารที่สร้างไว้ล่วงหน้า"
        verbose_name_plural = "เอกสารที่สร้างไว้ล่วงหน้า"
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id", "format"], name="unique_rendered_document"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.object_id} ({self.format})"
