#!/usr/bin/env python
"""Benchmark the comparison pages on a national dataset: median of 5 warm requests in one process.

Usage: .venv/bin/python scripts/bench_compare.py [--agencies 8317] [--years 2563-2568] [--questions]

Builds its own SQLite database (unless DATABASE_URL is set, e.g. postgres://…), generates the
national dataset with generate_demo_data (replacing earlier GEN agencies), then requests every
comparison page through django.test.Client and prints the median server time and the number of
SQL queries of each. The target is 300 ms per page."""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ita_portal.settings")
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

RUNS = 5
TARGET_MS = 300


def measure(client, url):
    response = client.get(url)  # warm
    assert response.status_code == 200, (url, response.status_code)
    connection.queries_log.clear()  # the log keeps at most 9,000 queries; generating filled it
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(captured.captured_queries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agencies", type=int, default=8317)
    parser.add_argument("--years", default="2563-2568")
    parser.add_argument("--questions", action="store_true")
    args = parser.parse_args()

    # Keep one connection across requests, as the test client does (and as CONN_MAX_AGE does on
    # PostgreSQL); otherwise each request reconnects and the query log starts empty.
    from django.core import signals
    from django.db import close_old_connections

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
    engine = connection.vendor
    agencies = Agency.objects.count()
    assessments = Assessment.objects.count()
    print()
    print(f"database: {engine}; {agencies:,} agencies, {assessments:,} assessments; generated in {generated:.1f} s")
    print(f"{'page':<66} {'median ms':>10} {'queries':>8}")
    worst = 0
    for user, name, url in pages:
        client = Client()
        client.force_login(user)
        ms, queries = measure(client, url)
        worst = max(worst, ms)
        print(f"{name:<66} {ms:10.0f} {queries:8d}")
    print(f"slowest page {worst:.0f} ms (target ≤ {TARGET_MS} ms): {'OK' if worst <= TARGET_MS else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
