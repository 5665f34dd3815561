"""Agencies' signing certificates: their passwords encrypted at rest, and the check that an
uploaded file is a PKCS#12 that opens with its password.

The password is encrypted with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) under
settings.SIGNING_SECRET_KEY, which comes from the environment and never from the database: a
database backup (or the media folder) alone is not enough to sign as the agency."""

import datetime

from django.conf import settings

from ita_portal import thai

# A PKCS#12 holding one key, its certificate and a CA chain is a few kilobytes.
PKCS12_MAX_BYTES = 256 * 1024
CERTIFICATE_LABEL = "ใบรับรองสำหรับลงลายมือชื่ออิเล็กทรอนิกส์ (PKCS#12)"
PASSWORD_LABEL = "รหัสผ่านใบรับรอง"
UNREADABLE_PASSWORD = (
    "ถอดรหัสรหัสผ่านใบรับรองที่บันทึกไว้ไม่ได้ (ค่า SIGNING_SECRET_KEY ของเครื่องนี้ไม่ใช่ค่าที่ใช้ตอนบันทึก) "
    "กรุณาให้ผู้ดูแลระบบตั้ง SIGNING_SECRET_KEY ให้ถูกต้อง หรือบันทึกรหัสผ่านใบรับรองใหม่ในหน้าหน่วยงาน"
)


class UnreadableSecret(Exception):
    """The stored ciphertext does not open with the configured key."""


def _fernet():
    from cryptography.fernet import Fernet

    return Fernet(settings.SIGNING_SECRET_KEY.encode("ascii"))


def encrypt(plain):
    """Ciphertext (text) of a password; "" stays "" (no password)."""
    if not plain:
        return ""
    return _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token):
    """The password back from its ciphertext; raises UnreadableSecret under another key."""
    from cryptography.fernet import InvalidToken

    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as error:
        raise UnreadableSecret(UNREADABLE_PASSWORD) from error


def _is_pkcs12_structure(data):
    """True when the bytes parse as a PKCS#12 PFX (whatever the password): tells a wrong
    password apart from a file that is not a certificate at all."""
    from asn1crypto import pkcs12

    try:
        pfx = pkcs12.Pfx.load(data, strict=True)
        return pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native is not None
    except Exception:  # noqa: BLE001 - asn1crypto raises ValueError, TypeError… on arbitrary bytes
        return False


def pkcs12_problem(data, password):
    """None when `data` is a PKCS#12 that opens with `password` and holds a private key with its
    own, currently valid certificate; otherwise (field, Thai message) naming the field at fault."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    if len(data) > PKCS12_MAX_BYTES:
        return "certificate", f"{CERTIFICATE_LABEL}: ไฟล์ใหญ่เกินกำหนด {PKCS12_MAX_BYTES // 1024} KB ไม่ใช่ใบรับรองที่ใช้ลงนาม"
    if not _is_pkcs12_structure(data):
        return "certificate", (
            f"{CERTIFICATE_LABEL}: ไฟล์นี้ไม่ใช่ใบรับรองแบบ PKCS#12 (.p12 หรือ .pfx) "
            "กรุณาส่งออกใบรับรองพร้อมกุญแจส่วนตัวเป็นไฟล์ .p12"
        )
    try:
        key, certificate, _chain = pkcs12.load_key_and_certificates(data, password.encode("utf-8") if password else None)
    except ValueError:
        if not password:
            return "password", f"{PASSWORD_LABEL}: ใบรับรองนี้ต้องใช้รหัสผ่าน กรุณากรอกรหัสผ่านของไฟล์"
        return "password", f"{PASSWORD_LABEL}: เปิดไฟล์ใบรับรองด้วยรหัสผ่านนี้ไม่ได้ กรุณาตรวจสอบรหัสผ่าน"
    except Exception:  # noqa: BLE001 - unsupported algorithms in a well-formed PFX
        return "certificate", f"{CERTIFICATE_LABEL}: อ่านใบรับรองนี้ไม่ได้ (ใช้วิธีเข้ารหัสที่ระบบไม่รองรับ)"
    if key is None or certificate is None:
        return "certificate", f"{CERTIFICATE_LABEL}: ไฟล์ต้องมีทั้งกุญแจส่วนตัวและใบรับรองของผู้ลงนาม"
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != certificate.public_key().public_bytes(
        serialization.Encoding.DER, public
    ):
        return "certificate", f"{CERTIFICATE_LABEL}: กุญแจส่วนตัวในไฟล์ไม่ตรงกับใบรับรอง"
    now = datetime.datetime.now(datetime.UTC)
    if certificate.not_valid_after_utc < now:
        expired = thai.thai_date(certificate.not_valid_after_utc)
        return "certificate", f"{CERTIFICATE_LABEL}: ใบรับรองหมดอายุแล้ว (เมื่อ {expired})"
    if certificate.not_valid_before_utc > now:
        return "certificate", f"{CERTIFICATE_LABEL}: ใบรับรองยังไม่เริ่มมีผล"
    return None

