"""The plan's year in a real browser, as the demo users do it, on a phone (390 px) and a PC:
staff edit measures in the portal and submit; the working group sends back; staff fix it;
the working group approves; the mayor signs with a BE date; staff record progress; the
revision keeps the links and the progress."""

import datetime
import re

from playwright.sync_api import expect

from plans.models import Plan, Progress
from plans.services import plan_draft_from_assessment, uncovered_urgent_questions
from tests.e2e.conftest import e2e_db, portal_login

pytestmark = e2e_db


def test_it_walks_the_plan_year_with_the_editor_on_a_phone(
    browser_page, shoot, owner, wg_member, mayor, seed_assessment, library
):
    plan, _ = plan_draft_from_assessment(assessment=seed_assessment, user=owner)
    gap = plan.measures.filter(questions__code="O12").first()
    gap.questions.remove(*gap.questions.filter(code="O12"))
    path = f"/plans/{plan.pk}/"

    staff = browser_page(width=390, height=844)
    portal_login(staff, owner, path)
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390
    staff.get_by_role("button", name="+ เพิ่มมาตรการสำหรับข้อ O12").click()
    expect(staff.locator(".messages")).to_contain_text("เพิ่มมาตรการ")
    first = staff.locator("article.measure").first
    first.locator("summary", has_text="แก้ไขมาตรการนี้").click()
    first.locator("textarea[name$=-title]").fill("จัดทำคู่มือการปฏิบัติงานและเผยแพร่บนเว็บไซต์")
    first.locator("input[name$=-owner]").fill("ปลัดองค์การบริหารส่วนตำบล")
    first.locator("select[name$=-deadline_0]").select_option("31")
    first.locator("select[name$=-deadline_1]").select_option(label="มีนาคม")
    first.locator("select[name$=-deadline_2]").select_option("2569")
    shoot(staff, "10-editor-phone")
    first.get_by_role("button", name="บันทึกมาตรการ").click()
    expect(staff.locator(".messages")).to_contain_text("บันทึกมาตรการ")
    assert staff.evaluate("document.documentElement.scrollWidth") <= 390
    edited = plan.measures.get(title="จัดทำคู่มือการปฏิบัติงานและเผยแพร่บนเว็บไซต์")
    assert (edited.owner, edited.deadline) == ("ปลัดองค์การบริหารส่วนตำบล", datetime.date(2026, 3, 31))
    assert not uncovered_urgent_questions(plan)
    staff.get_by_role("button", name="เสนอคณะทำงานพิจารณา").click()
    expect(staff.locator(".messages")).to_contain_text("เสนอแผนต่อคณะทำงานแล้ว")
    assert staff.confirmations and staff.confirmations[-1].startswith("เสนอแผนนี้ต่อคณะทำงานพิจารณา?")

    group = browser_page()
    portal_login(group, wg_member, path)
    group.locator("section.review textarea[name=comment]").fill("ขอให้ระบุผู้รับผิดชอบให้ชัดเจน")
    group.get_by_role("button", name="ส่งกลับให้แก้ไข").click()
    expect(group.locator(".messages")).to_contain_text("ส่งแผนกลับให้แก้ไขแล้ว")

    staff.goto(path)
    expect(staff.locator("#sent-back")).to_contain_text("ขอให้ระบุผู้รับผิดชอบให้ชัดเจน")
    second = staff.locator("article.measure").nth(1)
    second.locator("summary", has_text="แก้ไขมาตรการนี้").click()
    second.locator("input[name$=-owner]").fill("ผู้อำนวยการกองคลัง")
    second.get_by_role("button", name="บันทึกมาตรการ").click()
    expect(staff.locator(".messages")).to_contain_text("บันทึกมาตรการ")
    staff.get_by_role("button", name="เสนอคณะทำงานพิจารณา").click()
    expect(staff.locator(".messages")).to_contain_text("เสนอแผนต่อคณะทำงานแล้ว")

    group.goto(path)
    group.get_by_role("button", name="เห็นชอบแผน").click()
    expect(group.locator(".messages")).to_contain_text("เห็นชอบแผนแล้ว")

    signer = browser_page(width=390, height=844)
    portal_login(signer, mayor, f"/plans/{plan.pk}/sign/")
    signer.fill("input[name=signatory_name]", "นายสาธิต ระบบดี")
    signer.select_option("select[name=announced_on_0]", "2")
    signer.select_option("select[name=announced_on_1]", label="ตุลาคม")
    signer.select_option("select[name=announced_on_2]", "2568")
    signer.fill("input[name=meeting_number]", "1/2568")
    signer.select_option("select[name=meeting_date_0]", "16")
    signer.select_option("select[name=meeting_date_1]", label="กันยายน")
    signer.select_option("select[name=meeting_date_2]", "2568")
    signer.check("input[name=confirm]")
    signer.get_by_role("button", name="ลงนามประกาศ").click()
    expect(signer.locator(".signed-box")).to_contain_text("2 ตุลาคม พ.ศ. 2568")

    staff.goto(f"/plans/{plan.pk}/progress/")
    card = staff.locator("article.measure").first
    card.locator(".quarter").first.locator("summary").click()
    card.locator(".quarter").first.locator("select[name=status]").select_option("done")
    card.locator(".quarter").first.get_by_role("button", name="บันทึก").click()
    expect(staff.locator(".messages")).to_contain_text("บันทึกผลไตรมาส 1")

    staff.goto(path)
    staff.get_by_role("button", name="จัดทำฉบับปรับปรุง").click()
    expect(staff.locator(".revision")).to_have_text("ฉบับปรับปรุงครั้งที่ 1")
    expect(staff.locator("#uncovered")).to_contain_text("ทุกข้อคำถามที่ต่ำกว่า ๘๕ มีมาตรการรองรับแล้ว")
    shoot(staff, "11-revision-phone")
    new = Plan.objects.get(previous=plan)
    assert re.search(rf"/plans/{new.pk}/", staff.url)
    assert Progress.objects.filter(measure__plan=new, status="done").count() == 1
    assert new.measures.get(owner="ผู้อำนวยการกองคลัง").copied_from.plan == plan
