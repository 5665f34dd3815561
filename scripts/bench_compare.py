#!/usr/bin/env python
"""Benchmark the comparison pages on a national dataset: median of 5 warm requests in one process.

One command from a fresh clone, once `make test` has made .venv:

    .venv/bin/python scripts/bench_compare.py --postgres      # national: 8,317 agencies × FY2563–2568
    .venv/bin/python scripts/bench_compare.py --agencies 200 --years 2567-2568   # a quick run

Builds its own database (with --postgres a throwaway PostgreSQL server started with
scripts/pg_dev_server.sh and stopped at the end; else DATABASE_URL if set, else a temporary
SQLite file), generates the dataset with generate_demo_data (replacing earlier GEN agencies),
then requests every comparison page through django.test.Client and prints the machine (cores,
load average at the start and the end), each page's median server time and SQL queries, the
goal (≤ 300 ms per page) and whether it was met. The query counts are printed beside: that they
stay the same whatever the number of agencies is checked by tests/assessments/test_compare.py. --markdown adds the table in
Markdown for the README. Exit status 3 when a goal was missed."""

import sys
import time

import benchlib  # scripts/, beside this file

RUNS = 5
TARGET_MS = 300


def measure(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm (the first view after an import stores the averages it reads)
    assert response.status_code == 200, (url, response.status_code)
    connection.queries_log.clear()  # the log keeps at most 9,000 queries; generating filled it
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return benchlib.median_ms(lambda: client.get(url), runs=RUNS, warm=0), len(captured.captured_queries)


def main():
    parser = benchlib.parser(__doc__)
    parser.add_argument("--agencies", type=int, default=8317, help="generated agencies (default 8317, national)")
    parser.add_argument("--years", default="2563-2568", help="fiscal years (default 2563-2568)")
    parser.add_argument("--questions", action="store_true", help="question-level scores too")
    args = benchlib.setup(parser)

    from django.core import signals
    from django.core.management import call_command
    from django.db import close_old_connections, connection
    from django.test import Client
    from django.urls import reverse

    # Keep one connection across requests, as the test client does (and as CONN_MAX_AGE does on
    # PostgreSQL); otherwise each request reconnects and the query log starts empty.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)

    call_command("migrate", verbosity=0)
    start = time.perf_counter()
    options = {"agencies": args.agencies, "years": args.years, "replace": True, "questions": args.questions}
    call_command("generate_demo_data", **options)
    generated = time.perf_counter() - start

    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from assessments.models import Agency, Assessment, Membership

    User = get_user_model()
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True, "is_staff": True})
    officer, _ = User.objects.get_or_create(username="bench-province")
    # The largest province: the heaviest province table.
    province = (
        Agency.objects.filter(code__startswith="GEN").values("province").annotate(n=Count("pk")).order_by("-n")[0]
    )
    Membership.objects.get_or_create(user=officer, role=Membership.Role.PROVINCIAL, province=province["province"])
    latest = Assessment.objects.filter(agency__code__startswith="GEN").order_by("-fiscal_year__year")[0].fiscal_year.year
    sample = Agency.objects.filter(code__startswith="GEN", province=province["province"]).order_by("code")[0]

    table = reverse("assessments:compare")
    pages = [
        (admin, f"province table, {province['province']} ({province['n']} agencies), superuser",
         f"{table}?province={province['province']}&year={latest}"),
        (admin, "  sorted by IIT (a computed tool score)", f"{table}?province={province['province']}&year={latest}&sort=-IIT"),
        (admin, "  sorted by plan status, last page",
         f"{table}?province={province['province']}&year={latest}&sort=plan&page={-(-province['n'] // 50)}"),
        (officer, "province table, provincial officer (default view)", table),
        (admin, f"agency vs peers/province/nation, {sample.code} FY{latest}",
         reverse("assessments:compare_agency", args=[sample.code, latest])),
        (officer, "  same page, provincial officer", reverse("assessments:compare_agency", args=[sample.code, latest])),
        (admin, f"agency trend, {sample.code} (all years)", reverse("assessments:compare_trend", args=[sample.code])),
    ]
    agencies = Agency.objects.count()
    assessments = Assessment.objects.count()
    report = benchlib.Report(args, title=(
        f"comparison pages, {connection.vendor}: {agencies:,} agencies, {assessments:,} assessments "
        f"(generated in {generated:.0f} s); median of {RUNS} warm requests, server time through the test client"
    ))
    for user, name, url in pages:
        client = Client()
        client.force_login(user)
        ms, queries = measure(client, url)
        report.add(name, f"{ms:.0f} ms, {queries} queries", f"≤ {TARGET_MS} ms", ms <= TARGET_MS)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
