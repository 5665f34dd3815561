from django.core.management.base import BaseCommand, CommandError

from assessments.models import FiscalYear
from assessments.services import fiscal_year_restate


class Command(BaseCommand):
    help = (
        "คำนวณคะแนนรวม ระดับผล และจำนวนตัวชี้วัดที่ต้องแก้ไขเร่งด่วนที่เก็บไว้ของทุกหน่วยงานในปีงบประมาณที่ระบุใหม่"
        " ตามเกณฑ์และกรอบการประเมินปัจจุบัน (ใช้หลังโหลดเกณฑ์ระดับผลหรือกรอบการประเมินที่แก้ไขด้วย loaddata)"
    )

    def add_arguments(self, parser):
        parser.add_argument("fiscal_year", type=int, help="ปีงบประมาณ พ.ศ. เช่น 2568")

    def handle(self, *args, fiscal_year, **options):
        year = FiscalYear.objects.filter(year=fiscal_year).first()
        if year is None:
            raise CommandError(f"ไม่พบปีงบประมาณ {fiscal_year}")
        changed = fiscal_year_restate(fiscal_year_id=year.pk)
        self.stdout.write(f"ปีงบประมาณ {fiscal_year}: ผลการประเมินที่เปลี่ยน {changed:,} รายการ")
