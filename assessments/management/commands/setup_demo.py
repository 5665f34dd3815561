from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from assessments.models import Assessment
from assessments.services import assessment_refresh

DEMO_PASSWORD = "ita-demo-2568"


class Command(BaseCommand):
    help = "โหลดข้อมูลตัวอย่าง (หน่วยงานจากเอกสารต้นแบบ) และสร้างผู้ใช้สาธิต ใช้ได้ซ้ำโดยไม่สร้างข้อมูลซ้ำ"

    @transaction.atomic
    def handle(self, *args, **options):
        call_command("loaddata", "fixtures/demo.json", verbosity=0)
        for assessment in Assessment.objects.select_related("fiscal_year"):
            assessment_refresh(assessment=assessment)
        User = get_user_model()
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True, "first_name": "ผู้ดูแลระบบ"}
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        self.stdout.write(self.style.SUCCESS("ข้อมูลตัวอย่างพร้อมใช้งาน"))
        self.stdout.write("เปิด http://127.0.0.1:8000/admin/ แล้วเข้าสู่ระบบด้วยบัญชีสาธิต:")
        self.stdout.write(f"  ผู้ดูแลระบบ   ชื่อผู้ใช้ admin   รหัสผ่าน {DEMO_PASSWORD}")
