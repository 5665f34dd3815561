"""Checks for uploaded files. The type is read from the content, never from the file name
or the browser's Content-Type, and a refused file is never stored: these run as form
validators, before any service saves anything.

Stored names are random (`with_random_name`): a signature or an evidence file must not be
found by guessing "signature.png" or "evidence/2025/report.pdf"."""

import math
import zipfile
from uuid import uuid4

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image

IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGE_MAX_SIDE = 4000
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024

# Pillow format → stored extension.
IMAGE_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}

# The main part's content type in [Content_Types].xml of an Office Open XML file. Macro-enabled
# variants (xlsm, docm) declare other types and are refused.
OFFICE_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": ".xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": ".docx",
}
# [Content_Types].xml is a few kilobytes; a larger one is not read (zip bomb).
CONTENT_TYPES_MAX_BYTES = 256 * 1024


def _megabytes(size):
    # Rounded up, so a file just over the limit never reads "10 MB เกินกำหนด 10 MB".
    tenths = math.ceil(size * 10 / (1024 * 1024))
    return f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths / 10:.1f}"


def _rewind(upload):
    upload.seek(0)
    return upload


def read_image(upload):
    """(".png" or ".jpg", (width, height)) when Pillow reads the content as a whole PNG or
    JPEG, else None. Only the PNG and JPEG decoders are tried."""
    try:
        with Image.open(_rewind(upload), formats=tuple(IMAGE_FORMATS)) as image:
            kind, size = image.format, image.size
            image.verify()
    except Exception:  # noqa: BLE001 - Pillow raises many types on broken files (SyntaxError, OSError, bombs…)
        return None
    finally:
        _rewind(upload)
    return IMAGE_FORMATS[kind], size


def office_extension(upload):
    """".xlsx" or ".docx" when the content is a zip whose [Content_Types].xml declares a
    workbook or a Word document, else None."""
    try:
        with zipfile.ZipFile(_rewind(upload)) as archive:
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > CONTENT_TYPES_MAX_BYTES:
                return None
            declared = archive.read(info).decode("utf-8", errors="replace")
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError):
        return None
    finally:
        _rewind(upload)
    for content_type, extension in OFFICE_TYPES.items():
        if f'ContentType="{content_type}"' in declared:
            return extension
    return None


def is_pdf(upload):
    head = _rewind(upload).read(5)
    _rewind(upload)
    return head == b"%PDF-"


def _validate_image(upload, field_label):
    if upload.size > IMAGE_MAX_BYTES:
        raise ValidationError(
            f"{field_label}: ไฟล์มีขนาด {_megabytes(upload.size)} MB เกินกำหนด {_megabytes(IMAGE_MAX_BYTES)} MB",
            code="too_big",
        )
    image = read_image(upload)
    if image is None:
        raise ValidationError(f"{field_label}: รองรับเฉพาะไฟล์ PNG หรือ JPEG", code="invalid_type")
    width, height = image[1]
    if width > IMAGE_MAX_SIDE or height > IMAGE_MAX_SIDE:
        raise ValidationError(
            f"{field_label}: ภาพมีขนาด {width}×{height} พิกเซล "
            f"เกินกำหนด {IMAGE_MAX_SIDE}×{IMAGE_MAX_SIDE} พิกเซล กรุณาย่อภาพก่อนอัปโหลด",
            code="too_large_image",
        )


def validate_signature_image(upload):
    """Plan.signature_image: PNG or JPEG, at most 2 MB and 4000×4000 pixels."""
    _validate_image(upload, "ภาพลายมือชื่อ")


def validate_emblem(upload):
    """Agency.emblem: PNG or JPEG, at most 2 MB and 4000×4000 pixels."""
    _validate_image(upload, "ตราสัญลักษณ์")


def evidence_extension(upload):
    """The stored extension of an evidence file (PDF, PNG, JPEG, XLSX, DOCX), else None."""
    if is_pdf(upload):
        return ".pdf"
    image = read_image(upload)
    return image[0] if image else office_extension(upload)


def validate_evidence_file(upload):
    """Progress.evidence_file: PDF, PNG, JPEG, XLSX or DOCX, at most 10 MB. No pixel limit:
    a phone photo (4032×3024) is ordinary evidence."""
    label = "ไฟล์หลักฐาน"
    if upload.size > EVIDENCE_MAX_BYTES:
        raise ValidationError(
            f"{label}: ไฟล์มีขนาด {_megabytes(upload.size)} MB เกินกำหนด {_megabytes(EVIDENCE_MAX_BYTES)} MB",
            code="too_big",
        )
    if evidence_extension(upload) is None:
        raise ValidationError(f"{label}: รองรับเฉพาะไฟล์ PDF, PNG, JPEG, XLSX หรือ DOCX", code="invalid_type")


def with_random_name(upload):
    """Give a validated upload a random name with the extension of its real type, before it
    is saved (upload_to keeps its folder: signatures/2025/3f9c….png)."""
    if not isinstance(upload, UploadedFile):
        return upload  # nothing new: None, False (cleared) or the file already stored
    # Never the sender's extension: a name ending in .html must not become one on disk.
    extension = evidence_extension(upload) or ""
    upload.name = uuid4().hex + extension
    return upload
