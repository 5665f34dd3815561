"""Public verification of stored documents (no login): /v/<code>/ and /v/.

Anyone holding a printed or downloaded announcement can check it against the file
the portal stored when it was signed: by uploading the file or by pasting its SHA-256.
For PAdES-signed documents the uploaded file's signature is validated as well."""

import hashlib
import io
import re

from django import forms
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from ita_portal import thai
from plans.models import StoredDocument

MAX_UPLOAD = 20 * 1024 * 1024
TOO_BIG = "ไฟล์มีขนาดเกิน ๒๐ เมกะไบต์ ระบบไม่รับตรวจสอบ"
BAD_HASH = "ค่า SHA-256 ต้องเป็นเลขฐานสิบหก (0-9, a-f) จำนวน ๖๔ ตัวอักษร"
NOTHING = "กรุณาเลือกไฟล์ หรือกรอกค่า SHA-256 ของไฟล์ที่ต้องการตรวจสอบ"
MATCH = "ตรงกับเอกสารที่ลงนาม"
NO_MATCH = "ไม่ตรงกับเอกสารที่ลงนาม"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class _UploadLimit(FileUploadHandler):
    """Stops storing an uploaded file once it passes MAX_UPLOAD bytes, so a huge
    upload never reaches the temporary directory; the form then reports it."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > MAX_UPLOAD:
            self.request.verify_upload_too_big = True
            raise SkipFile
        return raw_data

    def file_complete(self, file_size):
        return None


class VerifyForm(forms.Form):
    file = forms.FileField(label="ไฟล์ PDF ที่ต้องการตรวจสอบ", required=False)
    sha256 = forms.CharField(
        label="หรือค่า SHA-256 ของไฟล์", required=False, max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": "ตัวอักษร 0-9 และ a-f จำนวน 64 ตัว"}),
    )

    def __init__(self, *args, too_big=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.too_big = too_big

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if self.too_big or (upload is not None and upload.size > MAX_UPLOAD):
            raise forms.ValidationError(TOO_BIG)
        return upload

    def clean_sha256(self):
        value = "".join(self.cleaned_data.get("sha256", "").split()).lower()
        if value and not _HEX64.fullmatch(value):
            raise forms.ValidationError(BAD_HASH)
        return value

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("file") and not data.get("sha256"):
            raise forms.ValidationError(NOTHING)
        return data


def _read_upload(upload):
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    for chunk in upload.chunks():
        digest.update(chunk)
        buffer.write(chunk)
    return digest.hexdigest(), buffer.getvalue()


def _signer_certificate(document):
    """The certificate the agency signed this document with, read from the stored file.

    Trusting it (rather than the agency's current PKCS#12) keeps old documents
    verifiable after the agency replaces its certificate."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    with document.file.open("rb") as f:
        signatures = PdfFileReader(io.BytesIO(f.read())).embedded_signatures
    return signatures[0].signer_cert if signatures else None


def pades_check(data, document):
    """(valid, Thai explanation) for the PAdES signature of an uploaded file.

    Valid only if the signed bytes are intact, the signature is cryptographically
    valid, it chains to the agency's certificate, and it covers the ENTIRE file:
    an incremental update appended after signing still "validates", with reduced coverage."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel, validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        trusted = _signer_certificate(document)
        signatures = PdfFileReader(io.BytesIO(data)).embedded_signatures
        if not signatures:
            return False, "ไม่พบลายมือชื่ออิเล็กทรอนิกส์ในไฟล์นี้"
        if trusted is None:
            return False, "ไม่พบใบรับรองของหน่วยงานในเอกสารที่จัดเก็บไว้"
        # Checked as of the day the portal stored it: a demo certificate that expires
        # later must not turn an honest old announcement into an invalid one.
        context = ValidationContext(trust_roots=[trusted], allow_fetching=False, moment=document.created_at)
        status = validate_pdf_signature(signatures[-1], context)
    except Exception:  # noqa: BLE001 (untrusted upload: pyHanko raises many kinds of errors on a damaged file)
        return False, "อ่านลายมือชื่ออิเล็กทรอนิกส์ในไฟล์นี้ไม่ได้ ไฟล์อาจเสียหายหรือไม่ใช่ไฟล์ PDF"
    if not status.intact:
        return False, "ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง: เนื้อหาถูกแก้ไขหลังลงนาม"
    if not status.valid:
        return False, "ลายมือชื่ออิเล็กทรอนิกส์ไม่ถูกต้อง"
    if not status.trusted:
        return False, "ลายมือชื่ออิเล็กทรอนิกส์ไม่ได้ลงนามด้วยใบรับรองของหน่วยงาน"
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return False, "ลายมือชื่ออิเล็กทรอนิกส์ไม่ครอบคลุมทั้งไฟล์: มีการเพิ่มเติมข้อมูลต่อท้ายหลังลงนาม"
    return True, "ลายมือชื่ออิเล็กทรอนิกส์ถูกต้อง ครอบคลุมทั้งไฟล์ และลงนามด้วยใบรับรองของหน่วยงาน"


def _document_facts(document):
    plan = document.plan
    signed_at = plan.signed_at if document.kind == StoredDocument.Kind.ANNOUNCEMENT and plan.signed_at else None
    return {
        "document": document,
        "agency": plan.agency,
        "signed_on": thai.thai_date(signed_at) if signed_at else "",
        "announced_on": thai.thai_date(plan.announced_on) if plan.announced_on else "",
        "stored_on": thai.thai_date(document.created_at),
        "download_url": reverse("plans:public_document", args=[plan.agency.code, document.verify_code]),
    }


def _check(form, document_for):
    """Hash (and for signed documents, validate) what was submitted.

    `document_for(digest)` names the stored document to compare with."""
    upload = form.cleaned_data.get("file")
    data = None
    if upload:
        digest, data = _read_upload(upload)
    else:
        digest = form.cleaned_data["sha256"]
    document = document_for(digest)
    matches = document is not None and digest == document.sha256
    result = {"matches": matches, "verdict": MATCH if matches else NO_MATCH, "digest": digest,
              "filename": upload.name if upload else "", "signature": None, "document": document}
    if data is not None and document is not None and document.digitally_signed:
        valid, message = pades_check(data, document)
        result["signature"] = {"valid": valid, "message": message}
    return result


def _limit_uploads(request):
    # Upload handlers must be set before anything reads request.POST (the CSRF check
    # does), hence csrf_exempt on the outer view and csrf_protect on the inner one.
    if request.method == "POST":
        request.upload_handlers.insert(0, _UploadLimit(request))


def _documents():
    return StoredDocument.objects.select_related("plan__agency")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def verify_document(request, code):
    _limit_uploads(request)
    return _verify_document(request, code)


@csrf_protect
def _verify_document(request, code):
    try:
        document = _documents().get(verify_code=code)
    except StoredDocument.DoesNotExist:
        raise Http404("ไม่พบเอกสารตามรหัสตรวจสอบนี้") from None
    result = None
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES, too_big=getattr(request, "verify_upload_too_big", False))
        if form.is_valid():
            result = _check(form, lambda digest: document)
    else:
        form = VerifyForm()
    context = {**_document_facts(document), "form": form, "result": result}
    return render(request, "plans/verify.html", context)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def verify_lookup(request):
    _limit_uploads(request)
    return _verify_lookup(request)


@csrf_protect
def _verify_lookup(request):
    result = None
    facts = {}
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES, too_big=getattr(request, "verify_upload_too_big", False))
        if form.is_valid():
            result = _check(form, lambda digest: _documents().filter(sha256=digest).first())
            if result["document"] is not None:
                facts = _document_facts(result["document"])
    else:
        form = VerifyForm()
    return render(request, "plans/verify.html", {**facts, "form": form, "result": result, "lookup": True})
