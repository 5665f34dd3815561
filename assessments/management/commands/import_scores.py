from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assessments.resources import import_scores

# Who an import from the command line is recorded as when no --user is given: a user that
# cannot log in (inactive, no usable password), created on first use.
SYSTEM_IMPORT_USERNAME = "system-import"
SYSTEM_IMPORT_NAME = "ระบบนำเข้าคะแนน (คำสั่ง import_scores)"


def system_import_user():
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_IMPORT_USERNAME, defaults={"first_name": SYSTEM_IMPORT_NAME, "is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = (
        "นำเข้าคะแนน ITA ที่ ป.ป.ช. ประกาศ จากไฟล์ CSV (UTF-8) หรือ .xlsx "
        "แบบแถวละคะแนน (agency_code, agency_name, agency_type, province, district, fiscal_year, item, score "
        "หรือหัวคอลัมน์ภาษาไทยของไฟล์ที่ส่งออก) หรือแบบแถวละหน่วยงาน (agency_code, fiscal_year "
        "แล้วหนึ่งคอลัมน์ต่อรายการ เช่น overall, 1 … 10 หรือชื่อตัวชี้วัด) "
        "— นำเข้าทั้งไฟล์ หรือไม่นำเข้าเลยถ้ามีข้อผิดพลาด และบันทึกประวัติการนำเข้า (ImportBatch) "
        "กับประวัติของทุกคะแนนที่เปลี่ยน (ค่าเดิม ค่าใหม่ ผู้นำเข้า เวลา) ทุกครั้ง"
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="ตรวจสอบไฟล์และนับผล โดยไม่บันทึก")
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help=f"ชื่อผู้ใช้ที่บันทึกเป็นผู้นำเข้า (ถ้าไม่ระบุ บันทึกเป็นผู้ใช้ระบบ {SYSTEM_IMPORT_USERNAME})",
        )

    def handle(self, *args, file, dry_run, user=None, **options):
        if user:
            try:
                importer = get_user_model().objects.get(username=user)
            except get_user_model().DoesNotExist:
                raise CommandError(f"ไม่มีผู้ใช้ชื่อ {user} ในระบบ") from None
        else:
            importer = None if dry_run else system_import_user()
        try:
            report = import_scores(file, dry_run=dry_run, user=importer)
        except ValidationError as e:
            raise CommandError("\n".join(e.messages)) from None
        self.stdout.write(str(report))
