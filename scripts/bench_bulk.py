#!/usr/bin/env python
"""Benchmark bulk rendering: N agencies' analysis reports (or draft announcements) into one
ZIP, with the task's own function (plans.bulk.bulk_job_run), fresh and from stored documents.

Usage: .venv/bin/python scripts/bench_bulk.py [N] [analysis|announcement]   (default 20, analysis)
Builds its own SQLite database with the demo data (unless DATABASE_URL is set), adds N
agencies in a province of their own whose scores copy the demo assessments, drafts their
plans through plans.services, then prints documents per second (best and median of the runs):
- fresh: nothing rendered ahead (the stored documents are deleted before each run), with 1
  and 2 worker processes;
- stored: every document of the province was rendered ahead and is still current (the
  province the goal speaks of), in-process and with 2 worker processes.
Wall time includes starting the worker processes, as a real job pays it."""

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
RUNS = [
    ("fresh, 1 worker process", 1, False),
    ("fresh, 2 worker processes", 2, False),
    ("stored, in-process (BULK_RENDER_PROCESSES=0)", 0, True),
    ("stored, 2 worker processes", 2, True),
]
TARGET_PER_SECOND = 2
REPEAT = 3
FRESH_REPEAT = 2


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
    kind = sys.argv[2] if len(sys.argv) > 2 else "analysis"
    build(n)

    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from plans.bulk import bulk_job_run
    from plans.models import BulkRenderJob, Measure, RenderedDocument

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    admin = get_user_model().objects.get(username="admin")
    measures = Measure.objects.filter(plan__agency__province=PROVINCE).count()
    print(f"{n} agencies, {kind} documents (draft plans with {measures / n:.1f} measures on average)")
    print(f"machine: {os.cpu_count()} cores, load average before the runs {load} "
          "(other work on the machine makes the numbers noisy)")
    print(f"{'rendering':<46} {'documents':>9} {'best s':>7} {'median s':>8} {'docs/s':>7}")
    results = {}
    for label, processes, stored in RUNS:
        times = []
        for _ in range(REPEAT if stored else FRESH_REPEAT):
            if not stored:
                RenderedDocument.objects.all().delete()
            job = BulkRenderJob.objects.create(user=admin, kind=kind, fiscal_year=2568, province=PROVINCE)
            cache.clear()  # render_pdf caches documents; every run must lay them out again
            start = time.perf_counter()
            job = bulk_job_run(job_id=job.pk, processes=processes)
            times.append(time.perf_counter() - start)
            if job.failures:
                print("  failures:", job.failures)
        rendered = job.done - len(job.failures)
        results[label] = rendered / min(times)
        print(f"{label:<46} {rendered:>9} {min(times):7.2f} {statistics.median(times):8.2f} {results[label]:7.2f}")
    fresh, stored = results["fresh, 2 worker processes"], results["stored, 2 worker processes"]
    print(f"docs/s from the best run; goal ≥ {TARGET_PER_SECOND} docs/s for a province whose documents are "
          f"stored: {stored:.2f} ({'met' if stored >= TARGET_PER_SECOND else 'NOT met'}); fresh render on 2 "
          f"processes beside it: {fresh:.2f} ({'met' if fresh >= TARGET_PER_SECOND else 'NOT met'})")
    print(f"load average after the runs: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
