"""The admin score page's work is bounded (issue 12: ≤ 20 ms of Python per page view, kept
without a timed assertion), and the side menu it remembers per user (ita_portal.admin_site)
follows every change of the user's permissions and memberships on the very next request."""

import re

from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from assessments.models import Agency, Membership, agencies_filter, agencies_for

# Session, user, the assessment with its agency and year, the user's memberships, the year's
# framework, the stored scores, the user's Django permissions (the side menu's key, one query)
# and the level rules.
SCORE_PAGE_QUERIES = 8


def admin_index(client):
    """The admin index, whose module list is the side menu's app list."""
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    return response.content.decode()


def test_it_reads_the_admin_score_page_in_a_fixed_number_of_queries(
    client, seed_assessment, owner, django_assert_max_num_queries
):
    client.force_login(owner)
    url = reverse("admin:assessments_assessment_change", args=[seed_assessment.pk])
    client.get(url)  # the menu is remembered from here on: the page's usual cost
    with django_assert_max_num_queries(SCORE_PAGE_QUERIES):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and 'class="score-table"' in html
    # The side menu is still there, with the modules a staff member of an agency sees.
    assert 'id="nav-sidebar"' in html
    assert reverse("admin:assessments_assessment_changelist") in html
    assert reverse("admin:auth_user_changelist") not in html


def side_menu(client, url=None):
    """The side menu (<nav id="nav-sidebar">) of an admin page, the assessments list by default."""
    html = client.get(url or reverse("admin:assessments_assessment_changelist")).content.decode()
    start = html.index('<nav class="sticky" id="nav-sidebar"')
    return html[start:html.index("</nav>", start)]


def test_it_lists_a_model_in_the_side_menu_on_the_next_request_after_a_group_grants_it(client, owner, db):
    templates = reverse("admin:plans_measuretemplate_changelist")
    client.force_login(owner)
    assert templates not in admin_index(client) and templates not in side_menu(client)
    editors = Group.objects.create(name="ผู้ดูแลคลังมาตรการ")
    editors.user_set.add(owner)
    assert templates not in admin_index(client)  # a group without the permission changes nothing
    editors.permissions.add(Permission.objects.get(codename="view_measuretemplate"))
    assert templates in admin_index(client) and templates in side_menu(client)
    editors.permissions.clear()
    assert templates not in admin_index(client) and templates not in side_menu(client)
    owner.user_permissions.add(Permission.objects.get(codename="view_measuretemplate"))
    assert templates in admin_index(client) and templates in side_menu(client)


def test_it_marks_the_current_page_in_the_remembered_side_menu(client, owner):
    assessments = reverse("admin:assessments_assessment_changelist")
    agencies = reverse("admin:assessments_agency_changelist")
    client.force_login(owner)
    for url, current, other in [(assessments, assessments, agencies), (agencies, agencies, assessments)] * 2:
        menu = side_menu(client, url)
        assert f'<a href="{current}" aria-current="page">' in menu
        assert f'<a href="{other}">' in menu


def test_it_drops_the_agency_modules_from_the_side_menu_when_the_membership_ends(client, owner):
    assessments = reverse("admin:assessments_assessment_changelist")
    client.force_login(owner)
    assert assessments in admin_index(client)
    Membership.objects.filter(user=owner).delete()
    assert assessments not in admin_index(client)


def test_it_does_not_show_a_superusers_menu_to_another_user(client, owner, django_user_model):
    users = reverse("admin:auth_user_changelist")
    root = django_user_model.objects.create_superuser("root", password="pw")
    client.force_login(root)
    assert users in admin_index(client)
    client.force_login(owner)
    html = admin_index(client)
    assert users not in html and reverse("admin:assessments_assessment_changelist") in html


def test_it_filters_agencies_as_agencies_for_does(owner, agency_a, agency_b, django_user_model):
    third = Agency.objects.create(code="C001", name="เทศบาลเมืองปากช่อง", district="ปากช่อง", province="นครราชสีมา")
    officer = django_user_model.objects.create_user("officer", password="pw")
    Membership.objects.create(user=officer, role="provincial", province="นครราชสีมา")
    both = django_user_model.objects.create_user("both", password="pw")
    Membership.objects.create(user=both, role="provincial", province="นครราชสีมา")
    Membership.objects.create(user=both, agency=agency_b, role="viewer")
    nobody = django_user_model.objects.create_user("nobody", password="pw")
    expected = {
        owner: {agency_a},
        officer: {agency_a, third},
        both: {agency_a, agency_b, third},
        nobody: set(),
    }
    for user, agencies in expected.items():
        rows = Membership.objects.filter(user=user).values_list("role", "agency_id", "province")
        assert set(Agency.objects.filter(agencies_filter(rows))) == set(agencies_for(user)) == agencies
    # Through a relation, as the admin filters assessments and plans.
    rows = Membership.objects.filter(user=officer).values_list("role", "agency_id", "province")
    assert {m.agency for m in Membership.objects.filter(agencies_filter(rows, "agency"))} == {agency_a}


def _tags_only(html):
    """The page with the whitespace between tags dropped (the template indents, the view does not)."""
    return re.sub(r">\s+<", "><", re.sub(r'value="[^"]*" name="csrfmiddlewaretoken"|name="csrfmiddlewaretoken" value="[^"]*"', "", html))


def test_it_writes_the_fieldset_as_the_admin_template_does(client, seed_assessment, owner, django_user_model, monkeypatch):
    from assessments import admin as assessment_admin

    officer = django_user_model.objects.create_user("officer", password="pw", is_staff=True)
    Membership.objects.create(user=officer, role="provincial", province=seed_assessment.agency.province)
    url = reverse("admin:assessments_assessment_change", args=[seed_assessment.pk])
    pages = []
    for written_by_view in (True, False):
        if not written_by_view:
            monkeypatch.setattr(assessment_admin, "fieldsets_html", lambda adminform: None)
        client.force_login(owner)
        editable = client.get(url).content.decode()
        refused = client.post(url, {"notes": "<b>หมายเหตุ</b>", "version": "", "score_1": "150"}).content.decode()
        add = client.get(reverse("admin:assessments_assessment_add")).content.decode()
        client.force_login(officer)
        read_only = client.get(url).content.decode()
        pages.append([_tags_only(page) for page in (editable, refused, add, read_only)])
    assert pages[0] == pages[1]
    editable, refused, add, read_only = pages[0]
    assert 'class="form-row field-notes"' in editable and '<div class="readonly"><a href=' in editable
    assert "&lt;b&gt;หมายเหตุ&lt;/b&gt;</textarea>" in refused and 'class="errorlist' in refused
    assert 'name="agency"' in add and 'name="notes"' not in read_only
