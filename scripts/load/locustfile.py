"""Load test of the portal: 50 logged-in users browsing at once (scripts/load/run_load_test.sh).

Two kinds of user, each logged in through the portal's login form with its own account:
- agency staff (loadstaffNN: the demo "staff" memberships, POLSONGKHRAM and DEMO1–4): home,
  agency pages, the admin assessment page, plan pages, the comparison table, and the PDFs
  (the signed announcement, stored bytes; the analysis report, rendered ahead and stored);
- provincial officers (loadprovNN: นครราชสีมา, about 340 agencies of the national dataset):
  home, the province comparison table, agency trends and comparisons, agency pages, the
  analysis PDF.

The run's targets (agency codes, record ids, accounts) come from the JSON file named by
LOAD_TARGETS, written by run_load_test.sh. Requests are grouped by page, ids replaced by
placeholders, so the statistics give one line per page. Each user logs in once, then browses with
1–5 s of think time between pages. Every request carries its page name in an X-Load-Page header
(the server logs its CPU time under that name, see cpu_timing.py), and every response time is
written to LOAD_TIMINGS (name TAB milliseconds TAB 1 if it failed) for summary.py.

`python locustfile.py warm HOST` (run by the script before the test) fetches each PDF first, so
the measured downloads are the stored ones (rendered once, then served from the database by
both workers). A download that answers 202 ("being prepared") counts as a failure.
"""

import itertools
import json
import os
import random
import re
import sys
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

TARGETS = json.loads(Path(os.environ["LOAD_TARGETS"]).read_text(encoding="utf-8")) if "LOAD_TARGETS" in os.environ else {}
LOGIN_FORM, LOGIN_POST = "/accounts/login/ (form)", "/accounts/login/ (POST)"
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_numbers = {"staff": itertools.count(), "province": itertools.count()}
_timings = open(os.environ["LOAD_TIMINGS"], "w", buffering=1, encoding="utf-8") if "LOAD_TIMINGS" in os.environ else None  # noqa: SIM115


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    if _timings is not None:
        _timings.write(f"{name}\t{response_time:.1f}\t{1 if exception else 0}\n")


def loopback_cookie_policy():
    """The load test talks plain HTTP to gunicorn on loopback, while production cookies are
    Secure (TLS ends at nginx): this policy sends them back over HTTP too."""
    return DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))


def next_account(kind):
    """The next unused account of this kind: each simulated user logs in as itself."""
    accounts = TARGETS["accounts"][kind]
    return accounts[next(_numbers[kind]) % len(accounts)]


class PortalUser(FastHttpUser):
    abstract = True
    kind = ""
    # Think time between pages (reading, typing): 1–5 s, a busy office.
    wait_time = between(1, 5)

    def on_start(self):
        self.client.cookiejar.set_policy(loopback_cookie_policy())
        self.login(next_account(self.kind))

    def login(self, username):
        page = self.client.get("/accounts/login/", name=LOGIN_FORM, headers={"X-Load-Page": LOGIN_FORM})
        match = CSRF_INPUT.search(page.text or "")
        if not match:
            raise StopUser("no CSRF token on the login page")
        with self.client.post(
            "/accounts/login/",
            data={"username": username, "password": TARGETS["password"], "csrfmiddlewaretoken": match.group(1), "next": "/"},
            name=LOGIN_POST,
            headers={"X-Load-Page": LOGIN_POST},
            catch_response=True,
        ) as response:
            # A successful login redirects to the home page; a refused one shows the form again.
            if 'name="password"' in (response.text or ""):
                response.failure(f"login refused for {username}")
                raise StopUser(f"login refused for {username}")

    def page(self, path, name, *, expect=None):
        with self.client.get(path, name=name, headers={"X-Load-Page": name}, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif expect is not None and expect not in (response.text or ""):
                response.failure(f"{name}: the page does not show {expect!r}")

    def pdf(self, path, name):
        with self.client.get(path, name=name, headers={"X-Load-Page": name}, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif not (response.content or b"").startswith(b"%PDF"):
                response.failure("not a PDF")


class AgencyStaff(PortalUser):
    kind = "staff"
    weight = 3

    @task(2)
    def home(self):
        self.page("/", "/ (home)", expect="หน่วยงานของฉัน")

    @task(3)
    def agency(self):
        code = random.choice(TARGETS["staff"]["agencies"])
        self.page(f"/agencies/{code}/", "/agencies/[code]/", expect="ผลการประเมิน ITA")

    @task(2)
    def admin_assessment(self):
        pk = random.choice(TARGETS["staff"]["assessments"])
        self.page(f"/admin/assessments/assessment/{pk}/change/", "/admin/assessments/assessment/[id]/change/",
                  expect="score-table")

    @task(3)
    def plan(self):
        pk = random.choice(TARGETS["staff"]["plans"])
        self.page(f"/plans/{pk}/", "/plans/[id]/", expect="มาตรการ แยกตามตัวชี้วัด")

    @task(1)
    def plan_progress(self):
        self.page(f"/plans/{TARGETS['signed_plan']}/progress/", "/plans/[id]/progress/")

    @task(1)
    def compare(self):
        self.page("/compare/", "/compare/ (province table)")

    @task(1)
    def announcement_pdf(self):
        self.pdf(f"/plans/{TARGETS['signed_plan']}/documents/announcement.pdf", "/plans/[id]/documents/announcement.pdf")

    @task(1)
    def analysis_pdf(self):
        self.pdf(f"/assessments/{TARGETS['analysis']}/analysis.pdf", "/assessments/[id]/analysis.pdf")


class ProvincialOfficer(PortalUser):
    kind = "province"
    weight = 2

    @task(1)
    def home(self):
        self.page("/", "/ (home)", expect="หน่วยงานของฉัน")

    @task(3)
    def compare(self):
        page = random.choice(TARGETS["province"]["compare_pages"])
        self.page(f"/compare/?page={page}", "/compare/ (province table)")

    @task(2)
    def trend(self):
        code = random.choice(TARGETS["province"]["agencies"])
        self.page(f"/compare/agency/{code}/trend/", "/compare/agency/[code]/trend/")

    @task(2)
    def agency_compare(self):
        code = random.choice(TARGETS["province"]["agencies"])
        self.page(f"/compare/agency/{code}/{TARGETS['year']}/", "/compare/agency/[code]/[year]/")

    @task(2)
    def agency(self):
        code = random.choice(TARGETS["province"]["agencies"])
        self.page(f"/agencies/{code}/", "/agencies/[code]/", expect="ผลการประเมิน ITA")

    @task(1)
    def analysis_pdf(self):
        self.pdf(f"/assessments/{TARGETS['analysis']}/analysis.pdf", "/assessments/[id]/analysis.pdf")


def warm(host):
    """Render every measured PDF on each gunicorn worker (two at a time, three rounds: while one
    worker lays a PDF out, the other takes the second request)."""
    import time
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    import gevent

    jar = CookieJar(loopback_cookie_policy())
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = opener.open(f"{host}/accounts/login/", timeout=60).read().decode()
    form = {"username": TARGETS["accounts"]["warm"], "password": TARGETS["password"],
            "csrfmiddlewaretoken": CSRF_INPUT.search(login).group(1), "next": "/"}
    started = time.monotonic()
    answer = opener.open(f"{host}/accounts/login/", urllib.parse.urlencode(form).encode(), timeout=60).read().decode()
    if 'name="password"' in answer:
        sys.exit("warm-up: login refused")
    print(f"one login on an idle server (POST, then the home page it redirects to): "
          f"{1000 * (time.monotonic() - started):.0f} ms", flush=True)
    urls = [f"{host}/assessments/{TARGETS['analysis']}/analysis.pdf",
            f"{host}/plans/{TARGETS['signed_plan']}/documents/announcement.pdf"]

    def fetch(url):
        started = time.monotonic()
        data = opener.open(url, timeout=300).read()
        if not data.startswith(b"%PDF"):
            raise RuntimeError(f"warm-up: {url} is not a PDF")
        return time.monotonic() - started

    for url in urls:
        for _ in range(3):
            pair = [gevent.spawn(fetch, url) for _ in range(2)]
            gevent.joinall(pair, raise_error=True)
            print(f"warm-up {url.removeprefix(host)}: " + ", ".join(f"{g.value:.2f} s" for g in pair), flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "warm":
        sys.exit("usage: LOAD_TARGETS=targets.json python locustfile.py warm http://127.0.0.1:PORT")
    warm(sys.argv[2].rstrip("/"))
