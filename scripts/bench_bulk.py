#!/usr/bin/env python
"""Benchmark bulk rendering: N agencies' analysis reports (or draft announcements) into one
ZIP, with the task's own function (plans.bulk.bulk_job_run), fresh and from stored documents.

One command from a fresh clone, once `make test` has made .venv:

    .venv/bin/python scripts/bench_bulk.py --postgres            # 20 analysis reports
    .venv/bin/python scripts/bench_bulk.py 4 announcement        # a quick run on SQLite

Builds its own database (with --postgres a throwaway PostgreSQL server started with
scripts/pg_dev_server.sh and stopped at the end; else DATABASE_URL if set, else a temporary
SQLite file) with the demo data, adds N agencies in a province of their own whose scores copy
the demo assessments, drafts their plans through plans.services, then prints the machine (cores,
load average at the start and the end) and documents per second (from the best run; median
beside it):
- fresh: nothing rendered ahead (the stored documents are deleted before each run), with 1
  and 2 worker processes, printed beside the stored rate (no goal of its own);
- stored: every document of the province was rendered ahead and is still current (the fresh
  runs stored them), in-process and with 2 worker processes (BULK_RENDER_PROCESSES' default);
  goal ≥ 2 documents/s.
Wall time includes starting the worker processes, as a real job pays it. --markdown adds the
table in Markdown for the README. Exit status 3 when a goal was missed."""

import os
import statistics
import sys
import time

import benchlib  # scripts/, beside this file

# Worker processes are spawned: they re-import this module (as __mp_main__) and inherit the
# environment, where benchlib.setup() put DATABASE_URL, MEDIA_ROOT and the settings module;
# everything else must wait for main().
PROVINCE = "จังหวัดทดสอบประสิทธิภาพ"
# Fresh first: its last run leaves every document of the province stored, and current.
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
    parser = benchlib.parser(__doc__)
    parser.add_argument("n", nargs="?", type=int, default=20, help="agencies in the province (default 20)")
    parser.add_argument("kind", nargs="?", choices=["analysis", "announcement"], default="analysis")
    args = benchlib.setup(parser)
    n, kind = args.n, args.kind
    build(n)

    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    from plans.bulk import bulk_job_run
    from plans.models import BulkRenderJob, Measure, RenderedDocument

    admin = get_user_model().objects.get(username="admin")
    measures = Measure.objects.filter(plan__agency__province=PROVINCE).count()
    report = benchlib.Report(args, title=(
        f"bulk rendering: {n} agencies, {kind} documents (draft plans with {measures / n:.1f} measures on average); "
        f"documents/s from the best of {REPEAT} runs (fresh: {FRESH_REPEAT}), median beside"
    ))
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
        rate = rendered / min(times)
        measured = f"{rate:.2f}/s ({rendered} in {min(times):.2f} s; median {rendered / statistics.median(times):.2f}/s)"
        if stored:
            report.add(label, measured, f"≥ {TARGET_PER_SECOND}/s", rate >= TARGET_PER_SECOND)
        else:
            report.add(label, measured, "(none: printed beside)")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
