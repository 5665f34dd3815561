"""Score entry on the one-page assessment admin."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from assessments.models import Assessment, Score
from tests.conftest import make_assessment


@pytest.fixture
def superuser(db, django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def change_url(assessment):
    return reverse("admin:assessments_assessment_change", args=[assessment.pk])


def form_data(response):
    """The POST body the page would send back unchanged."""
    form = response.context["adminform"].form
    data = {"notes": form.initial.get("notes", ""), "version": form.initial["version"], "_save": "1"}
    for name in form.fields:
        if name.startswith("score_"):
            data[name] = form.initial.get(name, "")
    return data


def stored(assessment):
    return dict(((s.item.code, s.part), s.value) for s in Score.objects.filter(assessment=assessment).select_related("item"))


def test_it_shows_every_score_grouped_with_computed_figures_and_badges(admin_client, seed_assessment):
    response = admin_client.get(change_url(seed_assessment))
    html = response.content.decode()
    assert response.status_code == 200
    for text in ["IIT แบบวัดการรับรู้ของผู้มีส่วนได้ส่วนเสียภายใน", "ตัวชี้วัดที่ 9 การเปิดเผยข้อมูล",
                 "ตัวชี้วัดย่อยที่ 9.2", "O28", "e9", "EITSurvey", "ผ่านดี", "92.27", "98.58", "86.88"]:
        assert text in html
    assert "triage-urgent" in html and "triage-maintain" in html and "triage-improve" in html
    assert "ตัวชี้วัดที่ 9: คะแนนที่ประกาศ 88.75 คำนวณจากค่าเฉลี่ยตัวชี้วัดย่อยได้ 90.00" in html


def test_it_saves_a_changed_score_and_recomputes(admin_client, seed_assessment):
    data = form_data(admin_client.get(change_url(seed_assessment)))
    data["score_i1"] = "80.00"
    response = admin_client.post(change_url(seed_assessment), data)
    assert response.status_code == 302
    assert stored(seed_assessment)[("i1", "")] == Decimal("80.00")


def test_it_deletes_a_score_left_empty(admin_client, seed_assessment):
    data = form_data(admin_client.get(change_url(seed_assessment)))
    data["score_overall"] = ""
    admin_client.post(change_url(seed_assessment), data)
    assert ("overall", "") not in stored(seed_assessment)
    seed_assessment.refresh_from_db()
    assert seed_assessment.overall.quantize(Decimal("0.01")) == Decimal("92.27")  # computed from the tools


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("score_i1", "101", "i1 เจ้าหน้าที่ของหน่วยงาน"),
        ("score_9_2", "-1", "ตัวชี้วัดย่อยที่ 9.2"),
        ("score_O12", "abc", "คะแนนต้องเป็นตัวเลข เช่น 92.27, 100 หรือ ๙๒.๒๗ (ได้ abc)"),
        ("score_e4__survey", "79.095", "e4 EITSurvey: คะแนนมีทศนิยมได้ไม่เกิน 2 ตำแหน่ง"),
    ],
)
def test_it_rejects_a_bad_score_naming_the_field_and_saves_nothing(admin_client, seed_assessment, field, value, message):
    before = stored(seed_assessment)
    data = form_data(admin_client.get(change_url(seed_assessment)))
    data["score_i2"] = "50.00"  # a valid change in the same submission must not be saved either
    data[field] = value
    response = admin_client.post(change_url(seed_assessment), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert stored(seed_assessment) == before


def test_it_enters_a_new_agencys_scores_for_a_year_on_the_add_page(admin_client, agency_b, fy2568):
    url = reverse("admin:assessments_assessment_add") + f"?fiscal_year={fy2568.pk}"
    page = admin_client.get(url)
    assert "score_i1" in page.context["adminform"].form.fields
    data = {"agency": agency_b.pk, "fiscal_year": fy2568.pk, "notes": "", "_save": "1"}
    data.update({f"score_{n}": "90.00" for n in range(1, 11)})
    response = admin_client.post(url, data)
    assessment = Assessment.objects.get(agency=agency_b, fiscal_year=fy2568)
    assert response.status_code == 302
    assert len(stored(assessment)) == 10
    assert assessment.level == "ผ่านดี"


def test_it_loads_the_page_in_a_bounded_number_of_queries(admin_client, seed_assessment, agency_b):
    small = make_assessment(agency_b, 2568, {("1", ""): "90.00"})
    admin_client.get(change_url(small))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as few:
        admin_client.get(change_url(small))
    with CaptureQueriesContext(connection) as full:
        admin_client.get(change_url(seed_assessment))
    assert len(full) == len(few)
    assert len(full) <= 15


def test_it_filters_the_changelist_by_urgent_indicators(admin_client, seed_assessment, other_assessment):
    response = admin_client.get(reverse("admin:assessments_assessment_changelist") + "?urgent=yes")
    assert list(response.context["cl"].result_list) == [other_assessment]


def test_it_loads_the_page_for_agency_staff_in_a_bounded_number_of_queries(client, owner, seed_assessment):
    # The staff page reads the object, its framework and its scores once each (no second read
    # for the computed figures, the permission checks or the 404 check).
    client.force_login(owner)
    client.get(change_url(seed_assessment))  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(change_url(seed_assessment))
    assert response.status_code == 200
    assert 'name="score_i1" value="98.06"' in response.content.decode()
    assert len(queries) <= 9
    sql = [q["sql"] for q in queries]
    assert sum('FROM "assessments_score"' in s for s in sql) == 1
    assert sum('FROM "assessments_frameworkitem"' in s for s in sql) == 1


def test_it_keeps_a_refused_entry_in_its_box_marked_invalid_under_its_row(client, owner, seed_assessment):
    client.force_login(owner)
    data = form_data(client.get(change_url(seed_assessment)))
    data["score_i1"] = "101"
    html = client.post(change_url(seed_assessment), data).content.decode()
    box = ('name="score_i1" value="101" inputmode="decimal" size="6" class="score-input" aria-invalid="true" '
           'aria-describedby="id_score_i1_error" id="id_score_i1"')
    assert box in html
    row = html[html.index(box):]
    row = row[: row.index("</tr>")]
    assert "คะแนนต้องอยู่ระหว่าง 0 ถึง 100" in row
    # The element the box's aria-describedby names exists and holds the message.
    described = row[row.index('id="id_score_i1_error"'):]
    assert described.index("คะแนนต้องอยู่ระหว่าง 0 ถึง 100") < described.index("</div>")
    assert 'name="score_i2" value="100.00" inputmode="decimal" size="6" class="score-input" id="id_score_i2">' in html


def test_it_shows_a_provincial_officer_the_stored_figures_without_boxes(client, seed_assessment, django_user_model):
    from assessments.models import Membership

    officer = django_user_model.objects.create_user("officer", password="pw", is_staff=True)
    Membership.objects.create(user=officer, role="provincial", province=seed_assessment.agency.province)
    client.force_login(officer)
    html = client.get(change_url(seed_assessment)).content.decode()
    assert "score-input" not in html
    assert '<span class="ro-score">98.06</span>' in html  # i1
    assert '<span class="part-label">EITSurvey</span><span class="ro-score">' in html
