from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assessments.resources import import_scores


class Command(BaseCommand):
    help = (
        "นำเข้าคะแนน ITA ที่ ป.ป.ช. ประกาศ จากไฟล์ CSV (UTF-8) หรือ .xlsx ที่มีคอลัมน์ "
        "agency_code, agency_name, agency_type, province, district, fiscal_year, item, score "
        "— นำเข้าทั้งไฟล์ หรือไม่นำเข้าเลยถ้ามีข้อผิดพลาด"
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="ตรวจสอบไฟล์และนับผล โดยไม่บันทึก")

    def handle(self, *args, file, dry_run, **options):
        try:
            report = import_scores(file, dry_run=dry_run)
        except ValidationError as e:
            raise CommandError("\n".join(e.messages))
        self.stdout.write(str(report))
