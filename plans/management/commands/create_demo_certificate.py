"""python manage.py create_demo_certificate AGENCY_CODE

A self-signed RSA-2048 certificate for trying out PAdES signing of announcements.
It proves nothing to anyone outside the portal: production agencies upload a
certificate from a real CA in the admin. Running it again replaces the demo one."""

import datetime
import secrets
import warnings
from uuid import uuid4

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError

from assessments.models import Agency

VALID_YEARS = 3
DEMO_FOLDER = "certificates/demo/"


def demo_pkcs12(common_name, passphrase):
    """PKCS#12 bytes holding a new RSA-2048 key and a self-signed certificate for it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # RFC 5280 bounds a common name at 64 characters; cryptography counts UTF-8 bytes,
    # and a Thai letter takes three, so a full agency name needs the check relaxed.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        cn = x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64], _validate=False)
    name = x509.Name([cn, x509.NameAttribute(NameOID.COUNTRY_NAME, "TH")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * VALID_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # pyHanko accepts a signer certificate only with non-repudiation (content commitment).
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        name=common_name.encode(), key=key, cert=cert, cas=None,
        encryption_algorithm=serialization.BestAvailableEncryption(passphrase.encode()),
    )


class Command(BaseCommand):
    help = "สร้างใบรับรองทดลอง (self-signed) สำหรับลงลายมือชื่ออิเล็กทรอนิกส์ในประกาศของหน่วยงาน"

    def add_arguments(self, parser):
        parser.add_argument("agency_code", help="รหัสหน่วยงาน")

    def handle(self, *args, agency_code, **options):
        try:
            agency = Agency.objects.get(code=agency_code)
        except Agency.DoesNotExist:
            raise CommandError(f"ไม่พบหน่วยงานรหัส {agency_code}") from None
        passphrase = secrets.token_urlsafe(24)
        data = demo_pkcs12(agency.name, passphrase)
        old = agency.signing_pkcs12.name if agency.signing_pkcs12 else ""
        # A random name, as for an uploaded certificate; the password is stored encrypted.
        agency.signing_pkcs12.name = default_storage.save(f"{DEMO_FOLDER}{uuid4().hex}.p12", ContentFile(data))
        agency.set_signing_password(passphrase)
        agency.save(update_fields=["signing_pkcs12", "signing_pkcs12_password_encrypted"])
        if old.startswith(DEMO_FOLDER):
            # Replace the previous demo certificate rather than pile up copies.
            default_storage.delete(old)
        elif old:
            self.stdout.write(f"ใบรับรองเดิม {old} ยังเก็บไว้ แต่หน่วยงานไม่ได้ใช้แล้ว")
        self.stdout.write(
            self.style.SUCCESS(f"สร้างใบรับรองทดลองของ{agency.name}แล้ว: {agency.signing_pkcs12.name}")
        )
