import datetime

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from assessments.models import Agency, Assessment, FiscalYear, Membership
from assessments.services import aggregates_refresh_years, assessment_refresh

DEMO_PASSWORD = "ita-demo-2568"
Role = Membership.Role

# username, first name, last name, is_staff (admin access), [(role, agency code or province)]
DEMO_USERS = [
    ("staff", "สมใจ", "รักงาน", True, [(Role.STAFF, "POLSONGKHRAM"), (Role.STAFF, "DEMO1"), (Role.STAFF, "DEMO2"),
                                      (Role.STAFF, "DEMO3"), (Role.STAFF, "DEMO4")]),
    ("workgroup", "วิไล", "ตรวจดี", False, [(Role.WORKING_GROUP, "POLSONGKHRAM"), (Role.WORKING_GROUP, "DEMO1"),
                                          (Role.WORKING_GROUP, "DEMO2"), (Role.WORKING_GROUP, "DEMO3")]),
    ("mayor", "สาธิต", "ระบบดี", False, [(Role.SIGNATORY, "POLSONGKHRAM"), (Role.SIGNATORY, "DEMO1")]),
    ("province", "ประจักษ์", "ทั่วถึง", False, [(Role.PROVINCIAL, "นครราชสีมา")]),
    ("khuekkhak", "คึกคัก", "ตัวอย่าง", True, [(Role.STAFF, "KHUEKKHAK")]),
]


class Command(BaseCommand):
    help = "โหลดข้อมูลตัวอย่าง สร้างผู้ใช้สาธิตทุกบทบาท และแผนในทุกสถานะ ใช้ซ้ำได้โดยไม่สร้างข้อมูลซ้ำ"

    @transaction.atomic
    def handle(self, *args, **options):
        call_command("loaddata", "fixtures/demo.json", verbosity=0)
        for assessment in Assessment.objects.select_related("fiscal_year"):
            assessment_refresh(assessment=assessment)
        aggregates_refresh_years(fiscal_years=FiscalYear.objects.filter(assessments__isnull=False).distinct())
        users = self._users()
        self._plans(users)
        self.stdout.write(self.style.SUCCESS("ข้อมูลตัวอย่างพร้อมใช้งาน"))
        self.stdout.write(f"เปิด http://127.0.0.1:8000/ แล้วเข้าสู่ระบบด้วยบัญชีสาธิต (รหัสผ่านทุกบัญชี: {DEMO_PASSWORD})")
        self.stdout.write("  admin      ผู้ดูแลระบบ (จัดการกรอบการประเมิน หน่วยงาน และผู้ใช้)")
        self.stdout.write("  staff      เจ้าหน้าที่ อบต.พลสงคราม และหน่วยงานสาธิต: กรอกคะแนน จัดทำแผน บันทึกผล")
        self.stdout.write("  workgroup  คณะทำงาน: พิจารณา ให้ความเห็น เห็นชอบหรือส่งกลับ")
        self.stdout.write("  mayor      นายก อบต.พลสงคราม: ลงนามประกาศ")
        self.stdout.write("  province   เจ้าหน้าที่จังหวัดนครราชสีมา: ดูได้ทุกหน่วยงานในจังหวัด")
        self.stdout.write("  khuekkhak  เจ้าหน้าที่เทศบาลตำบลคึกคัก (หน่วยงานอื่น ใช้ทดสอบการแยกข้อมูล)")

    def _users(self):
        User = get_user_model()
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "first_name": "ผู้ดูแลระบบ"}
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        users = {}
        agencies = {a.code: a for a in Agency.objects.all()}
        for username, first, last, is_staff, roles in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last, "is_staff": is_staff}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            for role, where in roles:
                if role == Role.PROVINCIAL:
                    Membership.objects.get_or_create(user=user, role=role, province=where, agency=None)
                else:
                    Membership.objects.get_or_create(user=user, role=role, agency=agencies[where])
            users[username] = user
        return users

    def _plans(self, users):
        from plans import services
        from plans.models import Plan, Progress

        staff, group, mayor = users["staff"], users["workgroup"], users["mayor"]

        def draft(code):
            assessment = Assessment.objects.get(agency__code=code, fiscal_year__year=2568)
            plan, created = services.plan_draft_from_assessment(assessment=assessment, user=staff)
            return plan, created

        plan, created = draft("POLSONGKHRAM")
        if created:
            services.plan_submit(plan=plan, user=staff)
            services.measure_comment(
                plan=plan, user=group, measure=plan.measures.first(), body="ขอให้ระบุช่องทางเผยแพร่ให้ชัดเจนขึ้น"
            )
            services.plan_request_changes(plan=plan, user=group, comment="ปรับรายละเอียดขั้นตอนตามความเห็นแล้วเสนอใหม่")
            services.plan_submit(plan=plan, user=staff, comment="ปรับปรุงตามความเห็นของคณะทำงานแล้ว")
            services.plan_approve(plan=plan, user=group, comment="เห็นชอบตามที่เสนอ")
            services.plan_sign(
                plan=plan,
                user=mayor,
                signatory_name="นายสาธิต ระบบดี",
                signatory_position="นายกองค์การบริหารส่วนตำบลพลสงคราม",
                announced_on=datetime.date(2025, 10, 2),
                meeting_number="1/2568",
                meeting_date=datetime.date(2025, 9, 16),
                today=datetime.date(2025, 10, 2),  # the demo's story: signed in October 2568
            )
            for measure in plan.measures.all()[:4]:
                services.progress_record(
                    measure=measure, quarter=1, user=staff, status=Progress.Status.DONE,
                    note="ดำเนินการตามขั้นตอนครบถ้วน และเผยแพร่บนเว็บไซต์ของหน่วยงานแล้ว",
                    evidence_url="https://example.org/ita/evidence",
                )
        plan, created = draft("DEMO1")
        if created:
            services.plan_submit(plan=plan, user=staff)
            services.plan_approve(plan=plan, user=group)
        plan, created = draft("DEMO2")
        if created:
            services.plan_submit(plan=plan, user=staff)
        plan, created = draft("DEMO3")
        if created:
            services.plan_submit(plan=plan, user=staff)
            services.plan_request_changes(plan=plan, user=group, comment="ขอให้เพิ่มกำหนดแล้วเสร็จของแต่ละมาตรการ")
        draft("DEMO4")
        states = sorted(set(Plan.objects.values_list("status", flat=True)))
        self.stdout.write(f"แผนตัวอย่าง {Plan.objects.count()} ฉบับ สถานะ: {', '.join(states)}")
