import json

from django.core.management.base import BaseCommand, CommandError

from assessments.models import Assessment
from assessments.summary import assessment_summary


class Command(BaseCommand):
    help = "พิมพ์สรุปผลการประเมินของหน่วยงานในปีงบประมาณที่ระบุเป็น JSON"

    def add_arguments(self, parser):
        parser.add_argument("agency_code")
        parser.add_argument("fiscal_year", type=int)

    def handle(self, *args, agency_code, fiscal_year, **options):
        try:
            assessment = Assessment.objects.select_related("agency", "fiscal_year").get(
                agency__code=agency_code, fiscal_year__year=fiscal_year
            )
        except Assessment.DoesNotExist:
            raise CommandError(f"ไม่พบผลการประเมินของหน่วยงานรหัส {agency_code} ปีงบประมาณ {fiscal_year}") from None
        self.stdout.write(json.dumps(assessment_summary(assessment), ensure_ascii=False, indent=2))
