"""Importing scores through the admin, as a staff user scoped to one agency."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

HEADER = "agency_code,agency_name,agency_type,province,district,fiscal_year,item,score\n"


def upload(client, content):
    url = reverse("admin:assessments_score_import")
    page = client.get(url)
    formats = dict((label, value) for value, label in page.context["form"].fields["format"].choices)
    csv_index = next(value for label, value in formats.items() if "csv" in label.lower())
    return client.post(url, {"import_file": SimpleUploadedFile("scores.csv", content.encode()), "format": csv_index,
                             "resource": "0"})


def test_it_refuses_a_file_with_a_row_for_another_agency_as_a_whole(client, owner, seed_assessment, other_assessment):
    client.force_login(owner)
    before = other_assessment.scores.get(item__code="1").value
    content = HEADER + (
        "A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2568,1,90.00\n"
        "B001,เทศบาลตำบลคึกคัก,เทศบาลตำบล,พังงา,ตะกั่วป่า,2568,1,10.00\n"
    )
    response = upload(client, content)
    html = response.content.decode()
    assert "แถวที่ 3" in html
    confirm = response.context.get("confirm_form") if response.context else None
    assert confirm is None
    other_assessment.refresh_from_db()
    assert other_assessment.scores.get(item__code="1").value == before
    assert seed_assessment.scores.get(item__code="1").value == Decimal("99.35")


def test_it_previews_then_imports_a_file_for_the_users_own_agency(client, owner, seed_assessment):
    client.force_login(owner)
    content = HEADER + "A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2568,1,90.00\n"
    response = upload(client, content)
    confirm = response.context["confirm_form"]
    assert seed_assessment.scores.get(item__code="1").value == Decimal("99.35")  # preview writes nothing
    data = {name: confirm[name].value() for name in confirm.fields}
    client.post(reverse("admin:assessments_score_process_import"), data)
    assert seed_assessment.scores.get(item__code="1").value == Decimal("90.00")


def test_it_hides_the_import_from_users_without_the_staff_role(client, wg_member, seed_assessment):
    wg_member.is_staff = True  # may open the admin, but holds no staff role in any agency
    wg_member.save()
    client.force_login(wg_member)
    assert client.get(reverse("admin:assessments_score_import")).status_code == 403
    changelist = client.get(reverse("admin:assessments_score_changelist")).content.decode()
    assert reverse("admin:assessments_score_import") not in changelist


@pytest.mark.parametrize("score", ["101", "abc"])
def test_it_names_the_bad_row_in_the_admin(client, owner, seed_assessment, score):
    client.force_login(owner)
    content = HEADER + f"A001,องค์การบริหารส่วนตำบลพลสงคราม,อบต.,นครราชสีมา,โนนสูง,2568,i1,{score}\n"
    html = upload(client, content).content.decode()
    assert "แถวที่ 2" in html
    assert seed_assessment.scores.get(item__code="i1").value == Decimal("98.06")
