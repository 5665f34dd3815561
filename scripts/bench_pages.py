#!/usr/bin/env python
"""Python cost of the portal's heaviest pages, measured in one process: median CPU ms per page.

Usage: .venv/bin/python scripts/bench_pages.py [--postgres] [--agencies 8317] [--years 2563-2568] [--runs 20]
       .venv/bin/python scripts/bench_pages.py --database postgres://… (a database built earlier: no build)

Builds its own database: a temporary SQLite file, or with --postgres a throwaway PostgreSQL
server (scripts/pg_dev_server.sh, as .ci/run and the load test start it), stopped and removed at
the end. Loads the demo (setup_demo) and the national dataset (generate_demo_data; --agencies
smaller than 8,317 for a quick run), then requests each heavy page of the load test
(scripts/load/locustfile.py) through django.test.Client with production settings (DEBUG off,
cached template loader, manifest static files, axes on), logged in as the load test's users:
the demo "staff" account (agency staff of อบต.พลสงคราม and DEMO1–4) for the home, agency, admin
assessment, plan and progress pages, the demo "province" account (provincial officer of
นครราชสีมา) for the home and comparison pages. Each page cycles through the same targets as the
load test (the staff agencies' assessments and plans, pages 1–3 of the province table, a sample
of the province's agencies), once to warm up, then --runs requests.

Printed per page: the median Python CPU time (time.process_time around the request: the time
this process spent, not waiting for PostgreSQL; on SQLite the database work runs in this process
and counts too), the median wall time, the number of SQL queries, and whether the goal (≤ 20 ms
of Python, issue 12) is met; then the machine's cores and load average.
Exit status 3 when a page misses its goal."""

import argparse
import atexit
import base64
import io
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 20
PROVINCE = "นครราชสีมา"
STAFF_CODES = ["POLSONGKHRAM", "DEMO1", "DEMO2", "DEMO3", "DEMO4"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL (else a temporary SQLite)")
    parser.add_argument("--agencies", type=int, default=8317, help="agencies of the national dataset (default 8317)")
    parser.add_argument("--years", default="2563-2568", help="fiscal years of the national dataset")
    parser.add_argument("--runs", type=int, default=20, help="measured requests per page (default 20)")
    parser.add_argument("--database", metavar="URL",
                        help="measure this database as it is (built by an earlier run or by hand: demo and national "
                             "dataset), without building one")
    return parser.parse_args()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres(work):
    """A throwaway server in `work`/pg; stopped (and its directory removed with `work`) at exit."""
    pg_dir = work / "pg"
    script = ROOT / "scripts" / "pg_dev_server.sh"
    url = subprocess.run(
        [str(script), "start", str(pg_dir), str(free_port())], check=True, stdout=subprocess.PIPE, text=True
    ).stdout.strip()
    atexit.register(lambda: subprocess.run([str(script), "stop", str(pg_dir)], check=False))
    return url


def production_environment(args):
    """The load test's production settings (scripts/load/run_load_test.sh), on a private database,
    media and static directory."""
    work = Path(tempfile.mkdtemp(prefix="ita-bench-pages."))
    work.chmod(0o711)  # the PostgreSQL server user must reach work/pg when run as root
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # registered first: runs after the server stops
    if args.database:
        os.environ["DATABASE_URL"] = args.database
    else:
        os.environ["DATABASE_URL"] = start_postgres(work) if args.postgres else f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ.update(
        DJANGO_DEBUG="0",
        SECRET_KEY="bench-" + secrets.token_hex(24),
        SIGNING_SECRET_KEY=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        PUBLIC_BASE_URL="https://ita.example.go.th",
        DJANGO_STATIC_MANIFEST="1",
        MEDIA_ROOT=str(work / "media"),
        LOAD_STATIC_ROOT=str(work / "static"),
        DJANGO_SETTINGS_MODULE="load_settings",
        # Documents rendered ahead would be rendered by a task worker; none runs here, and no
        # measured page is a document.
        TASKS_BACKEND="django_tasks.backends.immediate.ImmediateBackend",
        DOCUMENTS_RENDER_AHEAD="0",
    )
    os.environ.pop("LOAD_CPU_LOG", None)
    sys.path[:0] = [str(ROOT), str(ROOT / "scripts" / "load")]


def build(args):
    from django.core.management import call_command

    if args.database:
        call_command("collectstatic", interactive=False, verbosity=0)
        return 0
    quiet = io.StringIO()  # the commands' progress reports: not part of the table
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    # The demo first, as the load test does: setup_demo recomputes every assessment in the database.
    call_command("setup_demo", verbosity=0, stdout=quiet)
    call_command("generate_demo_data", agencies=args.agencies, years=args.years, verbosity=0, stdout=quiet)
    call_command("collectstatic", interactive=False, verbosity=0)
    return time.perf_counter() - started


def targets():
    """(name, user, [urls], text the page must show), as the load test picks them."""
    from django.contrib.auth import get_user_model

    from assessments.models import Agency, Assessment
    from plans.models import Plan

    User = get_user_model()
    staff, officer = User.objects.get(username="staff"), User.objects.get(username="province")
    latest = Assessment.objects.filter(agency__code__in=STAFF_CODES).order_by("-fiscal_year__year")[0].fiscal_year.year
    assessments = Assessment.objects.filter(agency__code__in=STAFF_CODES, fiscal_year__year=latest).order_by("pk")
    plans = Plan.objects.filter(agency__code__in=STAFF_CODES).order_by("pk")
    signed = Plan.objects.get(agency__code="POLSONGKHRAM", status=Plan.Status.SIGNED)
    codes = list(
        Agency.objects.filter(province=PROVINCE, code__startswith="GEN").order_by("code").values_list("code", flat=True)
    )
    sample = codes[:: max(1, len(codes) // 20)] or ["POLSONGKHRAM"]
    return [
        ("/ (home), agency staff", staff, ["/"], "หน่วยงานของฉัน"),
        ("/ (home), provincial officer", officer, ["/"], "หน่วยงานของฉัน"),
        ("/agencies/[code]/", staff, [f"/agencies/{code}/" for code in STAFF_CODES], "ผลการประเมิน ITA"),
        ("/admin/assessments/assessment/[id]/change/", staff,
         [f"/admin/assessments/assessment/{pk}/change/" for pk in assessments.values_list("pk", flat=True)],
         "score-table"),
        ("/plans/[id]/", staff, [f"/plans/{pk}/" for pk in plans.values_list("pk", flat=True)], "มาตรการ แยกตามตัวชี้วัด"),
        ("/plans/[id]/progress/", staff, [f"/plans/{signed.pk}/progress/"], None),
        ("/compare/ (province table)", officer, [f"/compare/?page={page}" for page in (1, 2, 3)], None),
        ("/compare/agency/[code]/[year]/", officer, [f"/compare/agency/{code}/{latest}/" for code in sample], None),
        ("/compare/agency/[code]/trend/", officer, [f"/compare/agency/{code}/trend/" for code in sample], None),
    ]


def measure(client, urls, expect, runs):
    """Median CPU ms, median wall ms and the queries of one request, cycling through `urls`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url in urls:  # warm: one request per target (templates, caches, the database's pages)
        response = client.get(url)
        if response.status_code != 200:
            sys.exit(f"{url}: HTTP {response.status_code}")
        if expect is not None and expect not in response.content.decode():
            sys.exit(f"{url}: the page does not show {expect!r}")
    with CaptureQueriesContext(connection) as captured:
        client.get(urls[0])
    queries = len(captured.captured_queries)
    cpu, wall = [], []
    for n in range(runs):
        url = urls[n % len(urls)]
        started_cpu, started_wall = time.process_time(), time.perf_counter()
        client.get(url)
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started_wall) * 1000)
    return statistics.median(cpu), statistics.median(wall), queries


def main():
    args = parse_args()
    production_environment(args)

    import django

    django.setup()

    from django.conf import settings
    from django.core import signals
    from django.db import close_old_connections, connection
    from django.test import Client

    from assessments.models import Agency, Assessment

    assert not settings.DEBUG
    # One database connection across requests, as gunicorn keeps it (CONN_MAX_AGE on PostgreSQL).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    if not args.database:
        print(f"building the database ({connection.vendor}): demo + {args.agencies:,} agencies × FY{args.years} …",
              flush=True)
    built = build(args)
    print(f"database: {connection.vendor}; {Agency.objects.count():,} agencies, {Assessment.objects.count():,} "
          f"assessments; built in {built:.0f} s")
    print(f"median of {args.runs} warm requests per page, in-process, DEBUG off, cached templates")
    print()
    print(f"{'page':<46} {'Python ms':>9} {'wall ms':>8} {'queries':>7}  {'goal':<8} result")
    missed, recorded = [], []
    load_at_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for name, user, urls, expect in targets():
        client = Client()
        client.force_login(user)
        cpu, wall, queries = measure(client, urls, expect, args.runs)
        met = cpu <= GOAL_MS
        if not met:
            missed.append(name)
        recorded.append((f"Python per request, {name}", f"{cpu:.1f} ms", f"≤ {GOAL_MS} ms", met))
        print(f"{name:<46} {cpu:9.1f} {wall:8.1f} {queries:7d}  ≤ {GOAL_MS} ms  {'met' if met else 'NOT met'}", flush=True)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print()
    print(f"machine: {os.cpu_count()} cores, load average {load}")
    if os.environ.get("BENCH_RESULTS"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import benchlib

        benchlib.record(os.environ["BENCH_RESULTS"], "bench_pages", recorded, database=connection.vendor,
                        load_at_start=load_at_start, load_at_end=load)
    if connection.vendor == "sqlite":
        print("(SQLite runs its queries in this process: they count as Python here; --postgres measures as the load test does)")
    if missed:
        print(f"goal (≤ {GOAL_MS} ms of Python per page) NOT met: {', '.join(missed)}")
        return 3
    print(f"goal (≤ {GOAL_MS} ms of Python per page) met on every page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
