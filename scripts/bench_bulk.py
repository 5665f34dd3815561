#!/usr/bin/env python
"""Benchmark bulk rendering: N agencies' draft announcements into one ZIP, with the
task's own function (plans.bulk.bulk_job_run) in-process and with 1 and 2 worker processes.

Usage: .venv/bin/python scripts/bench_bulk.py [N]   (default 20 agencies)
Builds its own SQLite database with the demo data (unless DATABASE_URL is set), adds N
agencies in a province of their own whose scores copy the demo assessments, drafts
their plans through plans.services, then prints documents per second (best and median of 3 runs each). Wall time
includes starting the worker processes, as a real job pays it."""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ita_portal.settings")
# Worker processes are spawned: they re-import this module (as __mp_main__) and inherit
# the environment, so the database and media settings below must be environment variables
# and everything else must wait for main().
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp())

PROVINCE = "จังหวัดทดสอบประสิทธิภาพ"
RUNS = [("in-process (BULK_RENDER_PROCESSES=0)", 0), ("1 worker process", 1), ("2 worker processes", 2)]
TARGET_PER_SECOND = 2
REPEAT = 3


def build(n):
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("setup_demo", verbosity=0, stdout=quiet)

    from assessments.models import Agency, Assessment, Score
    from assessments.services import assessment_refresh
    from plans import services

    sources = list(Assessment.objects.filter(fiscal_year__year=2568).select_related("fiscal_year").order_by("pk"))
    for i in range(n):
        source = sources[i % len(sources)]
        agency, _ = Agency.objects.get_or_create(
            code=f"BENCH{i + 1:03d}",
            defaults={"name": f"องค์การบริหารส่วนตำบลทดสอบที่ {i + 1}", "province": PROVINCE, "district": "เมือง"},
        )
        assessment, created = Assessment.objects.get_or_create(agency=agency, fiscal_year=source.fiscal_year)
        if created:
            Score.objects.bulk_create(
                Score(assessment=assessment, item_id=s.item_id, part=s.part, value=s.value) for s in source.scores.all()
            )
            assessment_refresh(assessment=assessment)
        services.plan_draft_from_assessment(assessment=assessment, check_role=False)


def main():
    import django

    django.setup()
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    build(n)

    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from plans.bulk import bulk_job_run
    from plans.models import BulkRenderJob, Measure

    load = os.getloadavg()[0]
    admin = get_user_model().objects.get(username="admin")
    measures = Measure.objects.filter(plan__agency__province=PROVINCE).count()
    print(f"{n} agencies, draft announcements with {measures / n:.1f} measures on average")
    print(f"{'rendering':<40} {'documents':>9} {'best s':>7} {'median s':>8} {'docs/s':>7}")
    results = {}
    for label, processes in RUNS:
        times = []
        for _ in range(REPEAT):
            job = BulkRenderJob.objects.create(user=admin, kind="announcement", fiscal_year=2568, province=PROVINCE)
            cache.clear()  # render_pdf caches documents; every run must lay them out again
            start = time.perf_counter()
            job = bulk_job_run(job_id=job.pk, processes=processes)
            times.append(time.perf_counter() - start)
            if job.failures:
                print("  failures:", job.failures)
        rendered = job.done - len(job.failures)
        results[processes] = rendered / min(times)
        print(f"{label:<40} {rendered:>9} {min(times):7.2f} {statistics.median(times):8.2f} {results[processes]:7.2f}")
    speedup = results[2] / results[1]
    verdict = "met" if results[2] >= TARGET_PER_SECOND else "NOT met"
    print(f"docs/s from the best of {REPEAT} runs; 2 processes vs 1: x{speedup:.2f}; "
          f"target {TARGET_PER_SECOND} docs/s on 2 processes {verdict}")
    print(f"load average before the runs: {load:.2f} (other work on the machine makes the numbers noisy)")

if __name__ == "__main__":
    main()
