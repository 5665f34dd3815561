"""A decision comment over the limit is refused with a message naming the field and the
limit, and nothing is saved (issue 11, item 6: it used to be dropped silently)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from plans.models import Plan, ReviewComment, Transition
from plans.services import COMMENT_MAX_CHARS
from tests.plans.test_workflow import login, status, transition
from tests.plans.test_workflow import plan as plan  # noqa: F401  (fixture)

TOO_LONG = "ก" * (COMMENT_MAX_CHARS + 1)
AT_LIMIT = "ข" * COMMENT_MAX_CHARS


def shown(response):
    """The messages this request added (the session may still hold the submit's)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


@pytest.fixture
def submitted(client, plan, owner):  # noqa: F811
    transition(client, owner, plan, "submit")
    assert status(plan) == Plan.Status.SUBMITTED
    return plan


@pytest.mark.parametrize("action", ["approve", "request_changes"])
def test_it_refuses_a_decision_comment_over_the_limit_and_decides_nothing(client, submitted, wg_member, action):
    before = Transition.objects.filter(plan=submitted).count()
    version = Plan.objects.get(pk=submitted.pk).version
    response = transition(client, wg_member, submitted, action, TOO_LONG)
    assert response.status_code == 302 and response.url == reverse("plans:detail", args=[submitted.pk])
    assert shown(response) == [
        "ความเห็นประกอบยาว ๔,๐๐๑ ตัวอักษร เกินที่รับได้ ๔,๐๐๐ ตัวอักษร จึงยังไม่ได้บันทึก กรุณาย่อให้สั้นลงแล้วส่งอีกครั้ง"
    ]
    assert status(submitted) == Plan.Status.SUBMITTED and submitted.version == version
    assert Transition.objects.filter(plan=submitted).count() == before


def test_it_keeps_a_decision_comment_of_exactly_the_limit(client, submitted, wg_member):
    transition(client, wg_member, submitted, "approve", AT_LIMIT)
    assert status(submitted) == Plan.Status.APPROVED
    assert Transition.objects.filter(plan=submitted).last().comment == AT_LIMIT


def test_it_counts_a_line_break_from_the_browser_as_one_character(client, submitted, wg_member):
    # A textarea with maxlength 4000 lets 3,991 letters and 9 line breaks through, posted as CRLF.
    text = "\r\n".join(["ค" * 399] * 9 + ["ค" * 400])
    assert len(text) == COMMENT_MAX_CHARS + 9
    transition(client, wg_member, submitted, "request_changes", text)
    assert status(submitted) == Plan.Status.CHANGES_REQUESTED
    stored = Transition.objects.filter(plan=submitted).last().comment
    assert len(stored) == COMMENT_MAX_CHARS and stored == text.replace("\r\n", "\n")


def test_it_refuses_a_review_comment_over_the_limit(client, submitted, wg_member):
    login(client, wg_member)
    measure = submitted.measures.first()
    response = client.post(reverse("plans:comment", args=[submitted.pk]), {"body": TOO_LONG, "measure": measure.pk})
    assert shown(response) == [
        "ความเห็นยาว ๔,๐๐๑ ตัวอักษร เกินที่รับได้ ๔,๐๐๐ ตัวอักษร จึงยังไม่ได้บันทึก กรุณาย่อให้สั้นลงแล้วส่งอีกครั้ง"
    ]
    assert not ReviewComment.objects.filter(plan=submitted).exists()


def test_it_sets_the_limit_on_the_plan_page_textareas(client, submitted, wg_member):
    login(client, wg_member)
    page = client.get(reverse("plans:detail", args=[submitted.pk])).content.decode()
    assert f'name="comment" cols="40" rows="2" maxlength="{COMMENT_MAX_CHARS}"' in page
