"""The signing certificate's password is kept only as ciphertext (Fernet under
SIGNING_SECRET_KEY, see ita_portal.signing_secrets): the plain-text column is renamed and
every stored password encrypted in place. Reversing decrypts them again."""

from django.db import migrations, models

from ita_portal import signing_secrets


def encrypt_passwords(apps, schema_editor):
    Agency = apps.get_model("assessments", "Agency")
    for agency in Agency.objects.exclude(signing_pkcs12_password_encrypted="").only("pk", "signing_pkcs12_password_encrypted"):
        agency.signing_pkcs12_password_encrypted = signing_secrets.encrypt(agency.signing_pkcs12_password_encrypted)
        agency.save(update_fields=["signing_pkcs12_password_encrypted"])


def decrypt_passwords(apps, schema_editor):
    Agency = apps.get_model("assessments", "Agency")
    for agency in Agency.objects.exclude(signing_pkcs12_password_encrypted="").only("pk", "signing_pkcs12_password_encrypted"):
        agency.signing_pkcs12_password_encrypted = signing_secrets.decrypt(agency.signing_pkcs12_password_encrypted)
        agency.save(update_fields=["signing_pkcs12_password_encrypted"])


class Migration(migrations.Migration):

    dependencies = [
        ("assessments", "0006_history_versions_import_batch"),
    ]

    operations = [
        migrations.RenameField(
            model_name="agency",
            old_name="signing_pkcs12_password",
            new_name="signing_pkcs12_password_encrypted",
        ),
        migrations.AlterField(
            model_name="agency",
            name="signing_pkcs12_password_encrypted",
            field=models.TextField(blank=True, editable=False, verbose_name="รหัสผ่านใบรับรอง (เข้ารหัสแล้ว)"),
        ),
        migrations.RunPython(encrypt_passwords, decrypt_passwords),
    ]
