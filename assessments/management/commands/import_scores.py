from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assessments.resources import import_scores


class Command(BaseCommand):
    help = (
        "นำเข้าคะแนน ITA ที่ ป.ป.ช. ประกาศ จากไฟล์ CSV (UTF-8) หรือ .xlsx "
        "แบบแถวละคะแนน (agency_code, agency_name, agency_type, province, district, fiscal_year, item, score "
        "หรือหัวคอลัมน์ภาษาไทยของไฟล์ที่ส่งออก) หรือแบบแถวละหน่วยงาน (agency_code, fiscal_year "
        "แล้วหนึ่งคอลัมน์ต่อรายการ เช่น overall, 1 … 10 หรือชื่อตัวชี้วัด) "
        "— นำเข้าทั้งไฟล์ หรือไม่นำเข้าเลยถ้ามีข้อผิดพลาด และบันทึกประวัติการนำเข้า (ImportBatch) ทุกครั้ง"
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="ตรวจสอบไฟล์และนับผล โดยไม่บันทึก")

    def handle(self, *args, file, dry_run, **options):
        try:
            report = import_scores(file, dry_run=dry_run)
        except ValidationError as e:
            raise CommandError("\n".join(e.messages)) from None
        self.stdout.write(str(report))
