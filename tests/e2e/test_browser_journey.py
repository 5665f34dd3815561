"""What users do in a real browser, end to end: staff enter scores in the admin, draft and
submit a plan; the working group comments, sends it back and approves; the mayor signs and
downloads the announcement; anyone reads it on the agency's public page."""

import datetime
import io
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from assessments.models import Score
from plans.models import Plan, ReviewComment, StoredDocument
from plans.services import plan_approve, plan_draft_from_assessment, plan_submit
from tests.e2e.conftest import admin_login, e2e_db, portal_login
from tests.pdf_utils import contains, pdf_text
from tests.test_progress_report import sign_plan

pytestmark = e2e_db


def score_row(page, code):
    return page.locator("table.score-table tr", has=page.locator(f"input[name=score_{code}]"))


def stored_score(assessment, code):
    return Score.objects.get(assessment=assessment, item__code=code, part="").value


def test_it_shows_an_urgent_badge_after_staff_lower_a_question_score(browser_page, shoot, owner, seed_assessment):
    page = browser_page()
    admin_login(page, owner)
    page.goto(f"/admin/assessments/assessment/{seed_assessment.pk}/change/")
    expect(score_row(page, "i1").locator(".triage-improve")).to_be_visible()

    page.fill("input[name=score_i1]", "80.00")
    page.click("input[name=_continue]")

    expect(page.locator("ul.messagelist")).to_be_visible()
    expect(score_row(page, "i1").locator(".triage-urgent")).to_contain_text("เร่งด่วน")
    expect(page.locator("input[name=score_i1]")).to_have_value("80.00")
    shoot(page, "01-admin-assessment-after-save")
    assert stored_score(seed_assessment, "i1") == Decimal("80.00")


def test_it_refuses_a_score_above_100_in_thai_and_saves_nothing(browser_page, shoot, owner, seed_assessment):
    page = browser_page()
    admin_login(page, owner)
    page.goto(f"/admin/assessments/assessment/{seed_assessment.pk}/change/")

    page.fill("input[name=score_i1]", "101")
    page.click("input[name=_continue]")

    expect(page.locator(".score-errors")).to_contain_text("คะแนนต้องอยู่ระหว่าง 0 ถึง 100")
    expect(score_row(page, "i1").locator(".errorlist")).to_contain_text("(ได้ 101)")
    shoot(page, "02-admin-assessment-bad-value")
    assert stored_score(seed_assessment, "i1") == Decimal("98.06")


def test_it_takes_a_plan_from_draft_through_review_to_approval(
    browser_page, shoot, owner, wg_member, seed_assessment, library
):
    staff = browser_page()
    portal_login(staff, owner, "/agencies/A001/")
    staff.get_by_role("button", name="สร้างร่างแผนจากผลการประเมิน").click()
    expect(staff.locator(".messages")).to_contain_text("สร้างร่างแผนปีงบประมาณ")
    shoot(staff, "03-plan-draft")
    plan_path = urlparse(staff.url).path
    staff.get_by_role("button", name="เสนอคณะทำงานพิจารณา").click()
    expect(staff.locator(".messages")).to_contain_text("เสนอแผนต่อคณะทำงานแล้ว")

    group = browser_page()
    portal_login(group, wg_member, plan_path)
    first_measure = group.locator("article.measure").first
    first_measure.locator("textarea[name=body]").fill("ขอให้ระบุช่องทางเผยแพร่ให้ชัดเจนขึ้น")
    first_measure.get_by_role("button", name="ส่งความเห็น").click()
    expect(group.locator(".messages")).to_contain_text("บันทึกความเห็นแล้ว")
    expect(group.locator("article.measure").first.locator(".comments")).to_contain_text("ขอให้ระบุช่องทางเผยแพร่")
    group.locator("section.review textarea[name=comment]").fill("ปรับตามความเห็นแล้วเสนอใหม่")
    group.get_by_role("button", name="ส่งกลับให้แก้ไข").click()
    expect(group.locator(".messages")).to_contain_text("ส่งแผนกลับให้แก้ไขแล้ว")

    staff.reload()
    expect(staff.locator(".status")).to_contain_text("ส่งกลับให้แก้ไข")
    staff.get_by_role("button", name="เสนอคณะทำงานพิจารณา").click()
    expect(staff.locator(".messages")).to_contain_text("เสนอแผนต่อคณะทำงานแล้ว")

    group.reload()
    group.get_by_role("button", name="เห็นชอบแผน").click()
    expect(group.locator(".messages")).to_contain_text("เห็นชอบแผนแล้ว")
    expect(group.locator("ol.history")).to_contain_text("ส่งกลับให้แก้ไข")
    shoot(group, "04-plan-approved")

    plan = Plan.objects.get(agency=seed_assessment.agency)
    assert plan.status == Plan.Status.APPROVED
    assert list(plan.transitions.values_list("to_status", flat=True)) == [
        "draft", "submitted", "changes_requested", "submitted", "approved"
    ]
    assert ReviewComment.objects.filter(plan=plan, measure__isnull=False, author=wg_member).count() == 1


@pytest.fixture
def approved_plan(seed_assessment, owner, wg_member, library):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    plan_submit(plan=plan, user=owner)
    plan_approve(plan=plan, user=wg_member)
    return plan


def test_it_lets_the_mayor_sign_and_download_the_announcement_pdf(browser_page, shoot, mayor, approved_plan):
    page = browser_page()
    portal_login(page, mayor, f"/plans/{approved_plan.pk}/")
    page.get_by_role("link", name="ลงนามประกาศ").click()
    expect(page.locator("input[name=signatory_position]")).to_have_value("นายกองค์การบริหารส่วนตำบลพลสงคราม")
    page.fill("input[name=signatory_name]", "นายสาธิต ระบบดี")
    # Dates as day / Thai month / พ.ศ. selects: the Buddhist-era year cannot land in a CE picker.
    page.select_option("select[name=announced_on_0]", "2")
    page.select_option("select[name=announced_on_1]", label="ตุลาคม")
    page.select_option("select[name=announced_on_2]", "2568")
    page.fill("input[name=meeting_number]", "1/2568")
    page.select_option("select[name=meeting_date_0]", "16")
    page.select_option("select[name=meeting_date_1]", label="กันยายน")
    page.select_option("select[name=meeting_date_2]", "2568")
    page.check("input[name=confirm]")
    shoot(page, "05-sign-form")
    page.get_by_role("button", name="ลงนามประกาศ").click()

    expect(page.locator(".messages")).to_contain_text("ลงนามประกาศแล้ว")
    expect(page.locator(".signed-box")).to_contain_text("นายสาธิต ระบบดี")
    shoot(page, "06-plan-signed")
    response = page.request.get(f"/plans/{approved_plan.pk}/documents/announcement.pdf")

    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    data = response.body()
    assert data.startswith(b"%PDF")
    assert len(PdfReader(io.BytesIO(data)).pages) >= 1
    assert contains(pdf_text(data), "นายสาธิต ระบบดี")
    approved_plan.refresh_from_db()
    assert approved_plan.status == Plan.Status.SIGNED
    assert approved_plan.meeting_date == datetime.date(2025, 9, 16)
    assert approved_plan.announced_on == datetime.date(2025, 10, 2)
    expect(page.locator(".signed-box")).to_contain_text("2 ตุลาคม พ.ศ. 2568")


def test_it_lists_the_signed_announcement_on_the_public_page_without_login(
    browser_page, shoot, seed_assessment, owner, wg_member, mayor, library
):
    plan = sign_plan(seed_assessment, owner, wg_member, mayor)
    announcement = StoredDocument.objects.get(plan=plan, kind=StoredDocument.Kind.ANNOUNCEMENT)
    page = browser_page()
    page.goto("/p/A001/")

    expect(page.locator("h1")).to_have_text("องค์การบริหารส่วนตำบลพลสงคราม")
    entry = page.locator("ul.public-docs li")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text(announcement.verify_code)
    expect(page.get_by_role("link", name="เข้าสู่ระบบ")).to_be_visible()
    shoot(page, "07-public-page")
    response = page.request.get(entry.get_by_role("link", name="ดาวน์โหลด PDF").get_attribute("href"))

    assert response.ok
    assert response.body() == announcement.file.open("rb").read()
