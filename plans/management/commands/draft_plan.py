from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from assessments.models import Assessment
from plans.services import plan_draft_from_assessment


class Command(BaseCommand):
    help = "จัดทำร่างแผนปีงบประมาณถัดไปจากผลการประเมินของหน่วยงาน (เหมือนปุ่มในหน้าเว็บ) ไม่สร้างซ้ำถ้ามีแผนแล้ว"

    def add_arguments(self, parser):
        parser.add_argument("agency_code")
        parser.add_argument("assessed_year", type=int)

    def handle(self, *args, agency_code, assessed_year, **options):
        try:
            assessment = Assessment.objects.select_related("agency", "fiscal_year").get(
                agency__code=agency_code, fiscal_year__year=assessed_year
            )
        except Assessment.DoesNotExist:
            raise CommandError(f"ไม่พบผลการประเมินของหน่วยงานรหัส {agency_code} ปีงบประมาณ {assessed_year}") from None
        try:
            plan, created = plan_draft_from_assessment(assessment=assessment, check_role=False)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        verb = "สร้างร่างแผนแล้ว" if created else "มีแผนอยู่แล้ว ไม่สร้างซ้ำ"
        self.stdout.write(f"{verb}: {plan} (รหัส {plan.pk}) มาตรการ {plan.measures.count()} รายการ")
        if plan.is_driving_plan:
            self.stdout.write(
                f"เป็นแผนขับเคลื่อน เพราะไม่มีคะแนนที่ประกาศของ{plan.unscored_indicators_display} "
                "มาตรการของตัวชี้วัดเหล่านี้จัดทำจากคลังมาตรการ"
            )
