from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from assessments.documents import render_analysis
from assessments.models import Assessment
from plans.documents import render_plan_document
from plans.models import Plan


def _no_plan_message(assessment, agency_code, assessed_year):
    """Why there is no document, and the next step only when it can succeed: draft_plan
    when a draft is possible, otherwise what must be entered first."""
    from plans.services import plan_draft_problem

    missing = f"ยังไม่มีแผนที่จัดทำจากผลการประเมินปี {assessed_year} ของหน่วยงานรหัส {agency_code}"
    problem = plan_draft_problem(assessment)
    if problem:
        return f"{missing} และ{problem}"
    return f"{missing} (จัดทำร่างแผนได้ด้วยคำสั่ง draft_plan {agency_code} {assessed_year} หรือปุ่มในหน้าหน่วยงาน)"


class Command(BaseCommand):
    help = (
        "สร้างเอกสาร PDF (หรือสำเนา Word ด้วย --format docx): analysis, plan, announcement หรือ progress "
        "ของหน่วยงานจากผลการประเมินปีที่ระบุ"
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["analysis", "plan", "announcement", "progress"])
        parser.add_argument("agency_code")
        parser.add_argument("assessed_year", type=int)
        parser.add_argument("--output", required=True)
        parser.add_argument(
            "--format", choices=["pdf", "docx"], default="pdf", dest="file_format",
            help="pdf (ค่าเริ่มต้น) หรือ docx: สำเนา Word สำหรับแก้ไขถ้อยคำ",
        )

    def handle(self, *args, kind, agency_code, assessed_year, output, file_format="pdf", **options):
        try:
            assessment = Assessment.objects.select_related("agency", "fiscal_year").get(
                agency__code=agency_code, fiscal_year__year=assessed_year
            )
        except Assessment.DoesNotExist:
            raise CommandError(f"ไม่พบผลการประเมินของหน่วยงานรหัส {agency_code} ปีงบประมาณ {assessed_year}") from None
        if kind == "analysis":
            if file_format == "docx":
                from assessments.docx_documents import render_analysis_docx

                data = render_analysis_docx(assessment)
            else:
                data = render_analysis(assessment)
        else:
            plans = Plan.objects.filter(assessment=assessment).select_related("agency", "assessment__fiscal_year")
            # The announcement is the signed revision where there is one; other documents follow the latest revision.
            chosen = None
            if kind == "announcement":
                chosen = plans.filter(status=Plan.Status.SIGNED).order_by("-revision").first()
            chosen = chosen or plans.order_by("-revision").first()
            if chosen is None:
                raise CommandError(_no_plan_message(assessment, agency_code, assessed_year))
            if file_format == "docx":
                from plans.docx_documents import render_plan_docx

                data = render_plan_docx(chosen, kind)
            else:
                data = render_plan_document(chosen, kind)
        Path(output).write_bytes(data)
        self.stdout.write(f"บันทึก {kind} ({file_format}) ขนาด {len(data):,} ไบต์ ที่ {output}")
