"""The signed announcement (ประกาศ): context, rendering, one-time storage with SHA-256,
optional PAdES signature (pyHanko).

Before signing the announcement renders fresh as a draft (watermark "ร่าง", blank
signature block). Signing renders it once, stores the exact bytes and their SHA-256,
and every later download serves those bytes (DOMAIN: documents users make, item 3)."""

import hashlib
import io
import ipaddress
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse

from assessments.documents import figure_notes, noted
from assessments.models import compute_assessment
from ita_portal import signing_secrets, thai
from ita_portal.pdf import render_pdf
from plans import figures
from plans.models import StoredDocument

TEMPLATE = "reports/announcement.html"
TOOL_ORDER = ("IIT", "EIT", "OIT")
SIGNATURE_FIELD = "Signature1"
# Room for the CMS blob: RSA-2048 with a short chain needs far less; giving it
# explicitly saves pyHanko a dummy signing pass.
SIGNATURE_BYTES_RESERVED = 16384
_ARABIC_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_CODE_LENGTH = 10


def _in_digits(text, digits):
    """Text with every digit in the given style (free text may have been typed either way)."""
    text = text or ""
    return thai.thai_digits(text) if digits == "thai" else text.translate(_ARABIC_DIGITS)


def _thai_day_month_year(d):
    """ "๑๖ กันยายน ๒๕๖๘": the meeting date as announcements cite it (no "พ.ศ.")."""
    return thai.thai_digits(f"{d.day} {thai.THAI_MONTHS[d.month - 1]} {thai.be_year(d)}")


def _file_uri(field):
    """A stored image as a file:// URL, so WeasyPrint reads it from disk, never over HTTP."""
    if not field:
        return ""
    try:
        path = Path(field.path)
    except NotImplementedError:  # a storage without local paths: leave the image out
        return ""
    return path.as_uri() if path.is_file() else ""


def _indicator_value(measure, result):
    """The indicator's own score: the published figure where there is one. A measure for a
    question stores that question's score (O1: 50.00), which is never the indicator's."""
    figure = result.figures.get(measure.indicator.code) if result is not None else None
    if figure is not None:
        return figure.value
    return measure.score if not measure.questions.all() else None


def _measure_rows(measures, digits, notes=None, result=None):
    rows = []
    for measure in measures:
        indicator = measure.indicator
        questions = sorted(measure.questions.all(), key=lambda q: q.order)
        value = _indicator_value(measure, result)
        # A signed document prints published figures only: an EIT question's mean of its
        # two parts is the portal's estimate, so only the parts are printed (figures.py).
        question_texts = [
            figures.question_text(result, q.code, digits, estimates=False)[0] if result is not None
            else _in_digits(q.code, digits)
            for q in questions
        ]
        rows.append(
            {
                "indicator": _in_digits(f"ตัวชี้วัดที่ {indicator.code} {indicator.name}", digits),
                "score": noted(figures.indicator_score_text(value, digits), notes or {}, indicator.code),
                "weakness": _in_digits(measure.weakness, digits),
                "questions": ", ".join(question_texts),
                "title": _in_digits(measure.title, digits),
                "steps": _in_digits(measure.steps, digits),
                "period": measure.period_display(digits=digits),
                "units": _in_digits(measure.units_display(list(measure.units.all())), digits),
            }
        )
    return rows


def _tool_groups(measures, digits, notes=None, result=None):
    """Measures grouped by tool (the indicator's parent: IIT, EIT, OIT), in framework order."""
    groups = {}
    for measure in measures:
        tool = measure.indicator.parent
        groups.setdefault(tool, []).append(measure)

    def rank(tool):
        code = tool.code if tool is not None else ""
        return (TOOL_ORDER.index(code) if code in TOOL_ORDER else len(TOOL_ORDER), tool.order if tool else 0)

    return [
        {
            "code": tool.code if tool is not None else "",
            "name": tool.name if tool is not None else "",
            "rows": _measure_rows(items, digits, notes, result),
        }
        for tool, items in sorted(groups.items(), key=lambda kv: rank(kv[0]))
    ]


def announcement_context(plan, *, signed, verify_url=""):
    """Everything the template prints, computed here (lists, strings) so the template runs no query."""
    agency = plan.agency
    digits = agency.table_digits if agency.table_digits in ("thai", "arabic") else "thai"
    measures = list(
        plan.measures.select_related("indicator__parent").prefetch_related("questions", "units").order_by("order", "pk")
    )
    assessment = plan.assessment
    result = compute_assessment(assessment)
    overall = result.overall
    level = result.level.name if result.level is not None else ""
    notes = figure_notes(result)
    context = {
        "signed": signed,
        "agency_name": agency.name,
        "emblem_url": _file_uri(agency.emblem),
        "subject": thai.thai_digits(plan.title),
        "assessed_year": thai.thai_digits(assessment.fiscal_year.year),
        "target_year": thai.thai_digits(plan.target_year),
        "overall_score": noted(thai.format_score(overall.value), notes, overall.node.code)
        if overall.value is not None else "",
        "figure_notes": list(notes.values()),
        "level": level,
        "measure_count": thai.thai_digits(len(measures)),
        "meeting_number": thai.thai_digits(plan.meeting_number) if plan.meeting_number else "",
        "meeting_date": _thai_day_month_year(plan.meeting_date) if plan.meeting_date else "",
        "announced_on": thai.thai_date(plan.announced_on) if plan.announced_on else "",
        "groups": _tool_groups(measures, digits, notes, result),
        "verify_url": verify_url,
        "qr_svg": "",
    }
    if signed:
        context.update(
            signatory_name=plan.signatory_name,
            signatory_position=plan.signatory_position,
            signature_url=_file_uri(plan.signature_image),
        )
        if verify_url:
            import segno

            context["qr_svg"] = segno.make(verify_url, micro=False).svg_inline(scale=2.5)
    return context


def stored_announcement(plan):
    return plan.documents.filter(kind=StoredDocument.Kind.ANNOUNCEMENT).order_by("-created_at", "-pk").first()


def render_announcement(plan):
    """PDF bytes of the announcement: the stored file itself once signed, else a fresh draft."""
    if plan.is_signed:
        document = stored_announcement(plan)
        if document is not None:
            with document.file.open("rb") as f:
                return f.read()
    return render_pdf(TEMPLATE, announcement_context(plan, signed=False), cache_seconds=300)


def new_verify_code():
    """A short random token of [A-Za-z0-9] (10 characters, ~59 bits), unique among stored documents."""
    while True:
        code = re.sub(r"[^A-Za-z0-9]", "", secrets.token_urlsafe(12))[:_CODE_LENGTH]
        if len(code) == _CODE_LENGTH and not StoredDocument.objects.filter(verify_code=code).exists():
            return code


def verify_url_for(verify_code):
    base = getattr(settings, "PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("plans:verify", args=[verify_code])


def public_address_is_local():
    """True when PUBLIC_BASE_URL names this machine (localhost, 127.x, ::1) or no host: a QR
    code made with it opens nothing for a citizen."""
    host = (urlsplit(settings.PUBLIC_BASE_URL).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def public_address_problem():
    """Why nobody may sign yet (production only), or "": the QR code and link printed in a
    signed announcement keep PUBLIC_BASE_URL for good."""
    if not settings.PUBLIC_BASE_URL_REQUIRED:
        return ""
    url = settings.PUBLIC_BASE_URL
    if public_address_is_local() or not url.startswith("https://"):
        return (
            f"ยังลงนามประกาศไม่ได้ เพราะที่อยู่เว็บของพอร์ทัล (PUBLIC_BASE_URL) ยังเป็น {url} "
            "ซึ่งประชาชนเปิดไม่ได้ และจะพิมพ์อยู่ใน QR code ของประกาศที่ลงนามตลอดไป "
            "กรุณาให้ผู้ดูแลระบบตั้ง PUBLIC_BASE_URL เป็นที่อยู่ https:// ที่ประชาชนใช้เปิดพอร์ทัล "
            "(เช่น https://ita.example.go.th) ในไฟล์ตั้งค่า /etc/ita-portal/env แล้วเริ่มระบบใหม่"
        )
    return ""


CERTIFICATE_FAILED = (
    "ลงลายมือชื่ออิเล็กทรอนิกส์ด้วยใบรับรองของหน่วยงานไม่ได้: {reason} "
    "ยังไม่ได้ลงนามและไม่ได้บันทึกสิ่งใด กรุณาให้เจ้าหน้าที่ของหน่วยงานตรวจสอบใบรับรองและรหัสผ่านในหน้าหน่วยงาน"
)


def _load_signer(agency):
    """pyHanko's signer from the agency's certificate; every way it can fail (file gone, not a
    PKCS#12, wrong password, key unreadable under SIGNING_SECRET_KEY) is a Thai ValidationError."""
    from pyhanko.sign.signers import SimpleSigner

    try:
        password = agency.signing_password()
    except signing_secrets.UnreadableSecret as error:
        raise ValidationError(CERTIFICATE_FAILED.format(reason=str(error))) from None
    try:
        with agency.signing_pkcs12.open("rb") as f:
            data = f.read(signing_secrets.PKCS12_MAX_BYTES + 1)
    except OSError:
        raise ValidationError(CERTIFICATE_FAILED.format(reason="ไม่พบไฟล์ใบรับรอง")) from None
    problem = signing_secrets.pkcs12_problem(data, password)
    if problem is not None:
        raise ValidationError(CERTIFICATE_FAILED.format(reason=problem[1]))
    try:
        signer = SimpleSigner.load_pkcs12_data(data, other_certs=[], passphrase=password.encode() if password else None)
    except Exception:  # noqa: BLE001 - pyHanko wraps its errors in ValueError, but not all of them
        signer = None
    if signer is None:
        raise ValidationError(CERTIFICATE_FAILED.format(reason="เปิดใบรับรองไม่ได้"))
    return signer


def signing_preflight(agency):
    """Refuse before anything is saved: an address nobody can open, or a certificate that will
    not sign. Called by plan_sign before it records the signing."""
    problem = public_address_problem()
    if problem:
        raise ValidationError(problem)
    agency.refresh_from_db(fields=["signing_pkcs12", "signing_pkcs12_password_encrypted"])
    if agency.signing_pkcs12:
        _load_signer(agency)


def pades_sign(pdf, agency):
    """Apply an invisible PAdES signature with the agency's PKCS#12 certificate.

    The field is invisible on purpose: pyHanko's default stamp font garbles Thai
    without an error, and the visible signature block is already in the HTML."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _load_signer(agency)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD, subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    pdf_signer = signers.PdfSigner(meta, signer=signer, new_field_spec=fields.SigFieldSpec(SIGNATURE_FIELD, box=None))
    try:
        out = pdf_signer.sign_pdf(writer, bytes_reserved=SIGNATURE_BYTES_RESERVED)
    except Exception as error:  # noqa: BLE001 - a key pyHanko cannot use (algorithm, key size…)
        raise ValidationError(CERTIFICATE_FAILED.format(reason=f"โปรแกรมลงนามปฏิเสธใบรับรอง ({error})")) from None
    return out.getvalue()


def announcement_store(*, plan, user):
    """Render the signed announcement once (QR code and short verification URL under
    the signature), PAdES-sign it when the agency has a certificate, and store the
    final bytes with their SHA-256. Called by plan_sign inside its transaction;
    a second call returns the document already stored."""
    if not plan.is_signed:
        raise ValidationError("จัดเก็บประกาศได้เมื่อแผนลงนามแล้วเท่านั้น")
    existing = stored_announcement(plan)
    if existing is not None:
        return existing
    # Read the certificate settings fresh: a stale agency instance would silently skip the signature.
    plan.agency.refresh_from_db(fields=["signing_pkcs12", "signing_pkcs12_password_encrypted"])
    verify_code = new_verify_code()
    context = announcement_context(plan, signed=True, verify_url=verify_url_for(verify_code))
    pdf = render_pdf(TEMPLATE, context)
    digitally_signed = bool(plan.agency.signing_pkcs12)
    if digitally_signed:
        pdf = pades_sign(pdf, plan.agency)
    document = StoredDocument(
        plan=plan,
        kind=StoredDocument.Kind.ANNOUNCEMENT,
        title=f"ประกาศ{plan.agency.name} เรื่อง {context['subject']}",
        sha256=hashlib.sha256(pdf).hexdigest(),
        verify_code=verify_code,
        digitally_signed=digitally_signed,
        created_by=user if user is not None and user.is_authenticated else None,
    )
    document.file.save("announcement.pdf", ContentFile(pdf), save=False)
    try:
        document.full_clean()
        document.save()
    except Exception:
        # The rollback undoes the row, not the file: remove it so no orphan stays in MEDIA_ROOT.
        document.file.storage.delete(document.file.name)
        raise
    return document
