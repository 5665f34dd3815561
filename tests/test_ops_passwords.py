"""Password change in the portal and reset by e-mail, for users who never see the admin
(issue 11, item 6), with login throttling (django-axes) still in force."""

import re

import pytest
from django.urls import reverse

LOGIN = "/accounts/login/"
CHANGE = "/accounts/password/change/"
RESET = "/accounts/password/reset/"
NEW_PASSWORD = "ลำดวนบานเช้า2568"


def login(client, username, password, ip="127.0.0.1"):
    client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)
    return "_auth_user_id" in client.session


@pytest.fixture
def member_with_mail(wg_member):
    wg_member.email = "somsri@pholsongkhram.go.th"
    wg_member.save()
    return wg_member


def reset_link(mail, settings):
    links = re.findall(r"https?://\S+", mail.body)
    assert len(links) == 1 and links[0].startswith(settings.PUBLIC_BASE_URL + "/accounts/password/reset/")
    return links[0][len(settings.PUBLIC_BASE_URL):]


def set_new_password(client, path, password):
    form_page = client.get(path, follow=True)  # Django moves the token into the session, then redirects
    assert "ตั้งรหัสผ่านใหม่" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    return client.post(set_url, {"new_password1": password, "new_password2": password})


def test_it_links_password_change_from_the_navigation(client, wg_member):
    assert not wg_member.is_staff
    assert login(client, "member", "pw")
    page = client.get(reverse("plans:home")).content.decode()
    assert f'href="{CHANGE}"' in page and "เปลี่ยนรหัสผ่าน" in page


def test_it_asks_for_a_login_before_changing_a_password(client, db):
    response = client.get(CHANGE)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_it_lets_an_agency_member_change_their_password_and_log_in_with_it(client, wg_member):
    assert login(client, "member", "pw")
    page = client.get(CHANGE)
    assert page.status_code == 200 and "รหัสผ่านปัจจุบัน" in page.content.decode()
    response = client.post(CHANGE, {"old_password": "pw", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert "เปลี่ยนรหัสผ่านแล้ว" in client.get(response["Location"]).content.decode()
    client.logout()
    assert not login(client, "member", "pw")
    assert login(client, "member", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("wrong-pw", NEW_PASSWORD, "ใส่รหัสผ่านเก่าผิด"),
        ("pw", "1234567890123", "รหัสผ่านต้องไม่เป็นตัวเลขล้วน"),
        ("pw", "สั้นไป", "รหัสผ่านสั้นเกินไป ต้องมีอย่างน้อย 10 ตัวอักษร"),
        ("pw", "password123", "รหัสผ่านนี้ใช้กันทั่วไป"),
    ],
)
def test_it_refuses_a_wrong_current_or_weak_new_password_in_thai(client, wg_member, old, new, message):
    assert login(client, "member", "pw")
    response = client.post(CHANGE, {"old_password": old, "new_password1": new, "new_password2": new})
    assert response.status_code == 200 and message in response.content.decode()
    wg_member.refresh_from_db()
    assert wg_member.check_password("pw")


def test_it_mails_a_working_reset_link_and_sets_the_new_password(client, member_with_mail, mailoutbox, settings):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{RESET}"' in page
    response = client.post(RESET, {"email": "Somsri@PholSongkhram.go.th"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["somsri@pholsongkhram.go.th"] and mail.subject == "ตั้งรหัสผ่านใหม่สำหรับ ITA Portal"
    assert 'บัญชีผู้ใช้ "member"' in mail.body
    done = set_new_password(client, reset_link(mail, settings), NEW_PASSWORD)
    assert done.status_code == 302 and done["Location"] == reverse("password_reset_complete")
    assert "ตั้งรหัสผ่านใหม่แล้ว" in client.get(done["Location"]).content.decode()
    member_with_mail.refresh_from_db()
    assert member_with_mail.check_password(NEW_PASSWORD)
    assert login(client, "member", NEW_PASSWORD)


def test_it_accepts_a_reset_link_only_once(client, member_with_mail, mailoutbox, settings):
    client.post(RESET, {"email": member_with_mail.email})
    path = reset_link(mailoutbox[0], settings)
    set_new_password(client, path, NEW_PASSWORD)
    again = client.get(path, follow=True).content.decode()
    assert "ลิงก์นี้ใช้ไม่ได้แล้ว" in again
    member_with_mail.refresh_from_db()
    assert member_with_mail.check_password(NEW_PASSWORD)


def test_it_sends_nothing_for_an_unknown_address_but_shows_the_same_page(client, member_with_mail, mailoutbox):
    unknown = client.post(RESET, {"email": "nobody@example.go.th"}, follow=True)
    assert mailoutbox == []
    known = client.post(RESET, {"email": member_with_mail.email}, follow=True)
    assert len(mailoutbox) == 1
    assert unknown.redirect_chain == known.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert unknown.content == known.content and "ตรวจสอบอีเมลของท่าน" in unknown.content.decode()


def test_it_builds_the_reset_link_on_the_public_address_not_the_host_header(client, member_with_mail, mailoutbox, settings):
    settings.ALLOWED_HOSTS = ["testserver", "attacker.example"]
    client.post(RESET, {"email": member_with_mail.email}, HTTP_HOST="attacker.example")
    assert "attacker.example" not in mailoutbox[0].body
    reset_link(mailoutbox[0], settings)


def test_it_still_locks_out_wrong_guesses_and_a_reset_lifts_the_lock(client, member_with_mail, mailoutbox, settings):
    for _ in range(5):
        login(client, "member", "wrong-password")
    locked = client.post(LOGIN, {"username": "member", "password": "pw"})
    assert locked.status_code in (403, 429) and "ระงับการเข้าสู่ระบบชั่วคราว" in locked.content.decode()
    assert f'href="{RESET}"' in locked.content.decode()
    assert not login(client, "member", "pw")
    client.post(RESET, {"email": member_with_mail.email})
    set_new_password(client, reset_link(mailoutbox[0], settings), NEW_PASSWORD)
    assert login(client, "member", NEW_PASSWORD)
