"""The plan editor on the plan page: staff add measures (library, blank, one click per uncovered
question), edit every column, reorder and delete; every write goes through plans.services and
is refused, with a Thai message and nothing saved, for the wrong role, state, measure or version."""

import datetime

import pytest
from django.urls import reverse

from assessments.services import STALE_EDIT_MESSAGE
from plans.models import Measure, MeasureTemplate, Plan
from plans.services import plan_draft_from_assessment, plan_submit, uncovered_urgent_questions


@pytest.fixture
def plan(seed_assessment, owner, library):
    return plan_draft_from_assessment(assessment=seed_assessment, user=owner)[0]


@pytest.fixture
def other_plan(other_assessment, outsider, library):
    return plan_draft_from_assessment(assessment=other_assessment, user=outsider)[0]


def detail(plan):
    return reverse("plans:detail", args=[plan.pk])


def edit_data(measure, **overrides):
    p = f"m{measure.pk}-"
    data = {
        p + "version": str(measure.version), p + "band": "urgent", p + "weakness": "ยังไม่เผยแพร่ข้อมูล",
        p + "title": "เผยแพร่ข้อมูลการจัดซื้อจัดจ้างทุกเดือน", p + "analysis": "คะแนน O12 ต่ำ",
        p + "steps": "1. รวบรวม\r\n2. เผยแพร่", p + "quarters": ["1", "3"], p + "units": "กองคลัง, สำนักปลัด",
        p + "owner": "ผู้อำนวยการกองคลัง", p + "deadline_0": "31", p + "deadline_1": "3", p + "deadline_2": "2569",
        p + "monitoring": "รายงานทุกไตรมาส", p + "questions": ["O12", "O13"],
    }
    for key, value in overrides.items():
        data[p + key] = value
    return data


def update(client, plan, measure, **overrides):
    return client.post(reverse("plans:measure_update", args=[plan.pk, measure.pk]), edit_data(measure, **overrides))


def test_it_shows_the_editor_to_staff_only(client, plan, owner, wg_member):
    client.force_login(owner)
    html = client.get(detail(plan)).content.decode()
    measure = plan.measures.first()
    edit = reverse("plans:measure_edit", args=[plan.pk, measure.pk])
    assert f'href="{edit}"' in html and reverse("plans:measure_add", args=[plan.pk]) in html
    for url in (edit, edit + "?partial=1"):
        form = client.get(url).content.decode()
        assert f'action="{reverse("plans:measure_update", args=[plan.pk, measure.pk])}"' in form
        assert f'name="m{measure.pk}-deadline_2"' in form
    client.force_login(wg_member)
    html = client.get(detail(plan)).content.decode()
    assert reverse("plans:measure_add", args=[plan.pk]) not in html and edit not in html
    assert client.get(edit).status_code == 403


def test_it_renders_no_edit_form_on_the_plan_page_only_a_link_to_each(client, plan, owner):
    client.force_login(owner)
    html = client.get(detail(plan)).content.decode()
    assert 'class="measure-form"' not in html and "-deadline_2" not in html
    for measure in plan.measures.all():
        edit = reverse("plans:measure_edit", args=[plan.pk, measure.pk])
        assert f'data-editor-url="{edit}?partial=1"' in html and f'href="{edit}"' in html


def test_it_serves_the_editor_alone_to_the_script_and_as_a_page_without_it(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    edit = reverse("plans:measure_edit", args=[plan.pk, measure.pk])
    fragment = client.get(edit + "?partial=1")
    assert fragment.status_code == 200 and "no-store" in fragment["Cache-Control"]
    html = fragment.content.decode()
    assert html.lstrip().startswith('<form method="post"') and "<html" not in html
    assert f'name="m{measure.pk}-version" value="{measure.version}"' in html
    assert "csrfmiddlewaretoken" in html and measure.title in html
    page = client.get(edit).content.decode()
    assert "<html" in page and 'class="measure-form"' in page
    assert f'href="{detail(plan)}#measure-{measure.pk}"' in page


def test_it_saves_a_measure_from_the_editor_page_without_script(client, plan, owner):
    import lxml.html

    measure = plan.measures.filter(questions__isnull=False).order_by("order").first()
    before = (measure.title, measure.deadline, sorted(q.code for q in measure.questions.all()))
    assert before[1] is not None and before[2]
    client.force_login(owner)
    page = client.get(reverse("plans:measure_edit", args=[plan.pk, measure.pk]))
    form = next(f for f in lxml.html.fromstring(page.content.decode()).forms if "measure-form" in f.get("class", ""))
    data = {}
    for name, value in form.form_values():  # what the browser sends back, every field as shown
        data.setdefault(name, []).append(value)
    data[f"m{measure.pk}-owner"] = ["ปลัดองค์การบริหารส่วนตำบล"]
    response = client.post(form.get("action"), data)
    assert response.status_code == 302 and response.url.endswith(f"#measure-{measure.pk}")
    measure.refresh_from_db()
    assert measure.owner == "ปลัดองค์การบริหารส่วนตำบล" and measure.version == 1
    assert (measure.title, measure.deadline, sorted(q.code for q in measure.questions.all())) == before


def test_it_opens_the_editor_with_the_current_version_after_an_edit(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    assert update(client, plan, measure, title="แก้ครั้งแรก").status_code == 302
    html = client.get(reverse("plans:measure_edit", args=[plan.pk, measure.pk]) + "?partial=1").content.decode()
    assert f'name="m{measure.pk}-version" value="1"' in html and "แก้ครั้งแรก" in html


def test_it_refuses_the_editor_on_a_submitted_plan_and_for_a_foreign_measure(client, plan, other_plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    foreign = other_plan.measures.first()
    assert client.get(reverse("plans:measure_edit", args=[plan.pk, foreign.pk])).status_code == 404
    assert client.get(reverse("plans:measure_edit", args=[other_plan.pk, foreign.pk])).status_code == 404
    plan_submit(plan=plan, user=owner)
    response = client.get(reverse("plans:measure_edit", args=[plan.pk, measure.pk]) + "?partial=1")
    assert response.status_code == 403
    assert "แก้ไขมาตรการได้เฉพาะเจ้าหน้าที่ของหน่วยงานนี้" in response.content.decode()


def test_it_saves_every_column_of_a_measure(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    response = update(client, plan, measure)
    assert response.status_code == 302 and response.url.endswith(f"#measure-{measure.pk}")
    measure.refresh_from_db()
    assert (measure.band, measure.title, measure.weakness, measure.analysis, measure.steps) == (
        "urgent", "เผยแพร่ข้อมูลการจัดซื้อจัดจ้างทุกเดือน", "ยังไม่เผยแพร่ข้อมูล", "คะแนน O12 ต่ำ", "1. รวบรวม\n2. เผยแพร่")
    assert (measure.quarters, measure.owner, measure.deadline, measure.monitoring) == (
        "1,3", "ผู้อำนวยการกองคลัง", datetime.date(2026, 3, 31), "รายงานทุกไตรมาส")
    assert sorted(u.name for u in measure.units.all()) == ["กองคลัง", "สำนักปลัด"] and not measure.all_units
    assert sorted(q.code for q in measure.questions.all()) == ["O12", "O13"]
    assert measure.version == 1


def test_it_refuses_a_stale_edit_and_keeps_the_first(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    stale = edit_data(measure, title="จากหน้าที่เปิดค้างไว้")
    assert update(client, plan, measure, title="บันทึกก่อน").status_code == 302
    response = client.post(reverse("plans:measure_update", args=[plan.pk, measure.pk]), stale)
    assert response.status_code == 400
    assert STALE_EDIT_MESSAGE in response.content.decode()
    assert "จากหน้าที่เปิดค้างไว้" in response.content.decode()  # the input is kept
    measure.refresh_from_db()
    assert measure.title == "บันทึกก่อน"


def test_it_refuses_an_empty_title_naming_the_field(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    before = (measure.title, measure.owner)
    client.force_login(owner)
    response = update(client, plan, measure, title="  ", owner="ไม่ควรถูกบันทึก")
    assert response.status_code == 400
    html = response.content.decode()
    assert "มาตรการ/โครงการ/กิจกรรม: กรุณาระบุมาตรการ/โครงการ/กิจกรรม" in html
    # The form comes back open on the plan page, with what was typed; the others stay links.
    assert html.count('class="measure-form"') == 1 and '<details class="measure-edit" open>' in html
    assert "ไม่ควรถูกบันทึก" in html
    measure.refresh_from_db()
    assert (measure.title, measure.owner) == before


def test_it_refuses_a_deadline_out_of_range_naming_the_field(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    response = update(client, plan, measure, deadline_2="2580")
    assert response.status_code == 400
    assert "กำหนดแล้วเสร็จ" in response.content.decode()
    measure.refresh_from_db()
    assert measure.version == 0


def test_it_answers_404_for_a_measure_of_another_plan_and_saves_nothing(client, plan, other_plan, owner, outsider):
    foreign = other_plan.measures.first()
    title = foreign.title
    client.force_login(owner)
    for name in ("plans:measure_update", "plans:measure_move", "plans:measure_delete"):
        assert client.post(reverse(name, args=[plan.pk, foreign.pk]), {**edit_data(foreign), "confirm": "1",
                                                                        "direction": "up"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.title == title and Measure.objects.filter(pk=foreign.pk).exists()
    # Nor through the other agency's plan.
    assert client.post(reverse("plans:measure_update", args=[other_plan.pk, foreign.pk]), edit_data(foreign)).status_code == 404


def test_it_refuses_edits_from_other_roles_and_on_a_submitted_plan(client, plan, owner, wg_member):
    measure = plan.measures.order_by("order").first()
    title = measure.title
    client.force_login(wg_member)
    assert update(client, plan, measure).status_code == 403
    plan_submit(plan=plan, user=owner)
    client.force_login(owner)
    response = update(client, plan, measure)
    assert response.status_code in (302, 403)
    measure.refresh_from_db()
    assert measure.title == title and Plan.objects.get(pk=plan.pk).status == "submitted"
    assert client.post(reverse("plans:measure_add", args=[plan.pk]), {"indicator": "1"}).status_code == 302
    assert plan.measures.count() == Measure.objects.filter(plan=plan).count()


def test_it_adds_a_measure_from_the_library(client, plan, owner):
    template = MeasureTemplate.objects.filter(question_code="").order_by("key").first()
    count = plan.measures.count()
    client.force_login(owner)
    response = client.post(reverse("plans:measure_add", args=[plan.pk]), {"template": template.pk})
    added = plan.measures.order_by("-order").first()
    assert response.status_code == 302 and response.url.endswith(f"#measure-{added.pk}")
    assert plan.measures.count() == count + 1
    assert (added.template, added.indicator.code, added.order) == (template, template.indicator_number, count + 1)


def test_it_adds_a_blank_measure_for_an_indicator(client, plan, owner):
    client.force_login(owner)
    client.post(reverse("plans:measure_add", args=[plan.pk]), {"indicator": "9"})
    added = plan.measures.order_by("-order").first()
    assert (added.indicator.code, added.template) == ("9", None)
    assert "ตัวชี้วัดที่ ๙" in added.title


def test_it_covers_an_uncovered_urgent_question_in_one_click(client, plan, owner):
    measure = plan.measures.filter(questions__code="O12").first()
    measure.questions.remove(*measure.questions.filter(code="O12"))
    assert "O12" in [q.node.code for q in uncovered_urgent_questions(plan)]
    client.force_login(owner)
    html = client.get(detail(plan)).content.decode()
    assert "เพิ่มมาตรการสำหรับข้อ O12" in html
    client.post(reverse("plans:measure_add", args=[plan.pk]), {"question": "O12", "from_library": "1"})
    assert "O12" not in [q.node.code for q in uncovered_urgent_questions(plan)]
    added = plan.measures.order_by("-order").first()
    assert (added.band, added.indicator.code) == ("urgent", "9")


def test_it_refuses_an_unknown_question_or_indicator_in_thai(client, plan, owner):
    count = plan.measures.count()
    client.force_login(owner)
    response = client.post(reverse("plans:measure_add", args=[plan.pk]), {"question": "X99"}, follow=True)
    assert "ไม่พบข้อคำถาม X99" in response.content.decode()
    response = client.post(reverse("plans:measure_add", args=[plan.pk]), {"indicator": ""}, follow=True)
    assert "กรุณาเลือกตัวชี้วัด" in response.content.decode()
    assert client.post(reverse("plans:measure_add", args=[plan.pk]), {"template": "999999"}).status_code == 404
    assert plan.measures.count() == count


def test_it_moves_a_measure_up_and_down_within_its_indicator(client, plan, owner):
    group = list(plan.measures.filter(indicator__code="9").order_by("order"))
    assert len(group) >= 2
    client.force_login(owner)
    client.post(reverse("plans:measure_move", args=[plan.pk, group[1].pk]), {"direction": "up"})
    assert list(plan.measures.filter(indicator__code="9").order_by("order"))[:2] == [group[1], group[0]]
    client.post(reverse("plans:measure_move", args=[plan.pk, group[1].pk]), {"direction": "down"})
    assert list(plan.measures.filter(indicator__code="9").order_by("order"))[:2] == [group[0], group[1]]


def test_it_deletes_a_measure_only_when_confirmed(client, plan, owner):
    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    url = reverse("plans:measure_delete", args=[plan.pk, measure.pk])
    client.post(url, {"version": measure.version})
    assert Measure.objects.filter(pk=measure.pk).exists()
    client.post(url, {"version": measure.version, "confirm": "1"})
    assert not Measure.objects.filter(pk=measure.pk).exists()
    assert list(plan.measures.order_by("order").values_list("order", flat=True)) == list(range(1, plan.measures.count() + 1))


def test_it_refuses_an_admin_form_opened_before_a_portal_edit(client, plan, owner):
    from tests.test_concurrency import page_form

    measure = plan.measures.order_by("order", "pk").first()
    client.force_login(owner)
    admin_url = reverse("admin:plans_plan_change", args=[plan.pk])
    stale = page_form(client.get(admin_url))
    assert update(client, plan, measure, title="แก้ในหน้าแผน").status_code == 302
    stale["measures-0-title"] = ["แก้จากหน้าผู้ดูแลที่เปิดค้างไว้"]
    response = client.post(admin_url, stale)
    assert STALE_EDIT_MESSAGE in response.content.decode()
    measure.refresh_from_db()
    assert measure.title == "แก้ในหน้าแผน"


def test_it_prints_the_owner_beside_the_divisions_in_the_measures_plan(client, plan, owner):
    from plans.measures_plan import render_measures_plan
    from tests.pdf_utils import contains, pdf_text

    measure = plan.measures.order_by("order").first()
    client.force_login(owner)
    update(client, plan, measure)
    measure.refresh_from_db()
    assert measure.units_display() == "กองคลัง, สำนักปลัด (ผู้อำนวยการกองคลัง)"
    assert contains(pdf_text(render_measures_plan(plan)), "ผู้อำนวยการกองคลัง")


def test_it_renders_the_editor_and_saves_without_a_query_per_measure(client, plan, owner, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(owner)
    url = detail(plan)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    while plan.measures.count() < 30:
        client.post(reverse("plans:measure_add", args=[plan.pk]), {"indicator": "9"})
    with CaptureQueriesContext(connection) as after:
        assert client.get(url).status_code == 200
    assert len(after) <= len(before) + 2
    measure = plan.measures.order_by("order").first()
    with django_assert_max_num_queries(40):
        assert update(client, plan, measure).status_code == 302


def test_it_keeps_the_page_title_plain_text_on_the_plan_and_sign_pages(client, plan, owner):
    # The editor's script once landed inside {% block title %}: the tab read "…<script src=…>".
    import re

    client.force_login(owner)
    for url in (detail(plan), reverse("plans:sign", args=[plan.pk])):
        html = client.get(url).content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert "<" not in title and "script" not in title, (url, title)
