#!/usr/bin/env python
"""Benchmark document rendering: median of 5 warm renders in one process.

Usage: .venv/bin/python scripts/bench_pdf.py
Builds its own SQLite database with the demo data (unless DATABASE_URL is set),
then prints a table: the analysis report of seed 000, the announcement with a
20-measure attachment, a cached/stored document served through the view, and
the same HTML rendered by plain WeasyPrint without Django."""

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
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp())
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

RUNS = 5


def median_ms(fn, runs=RUNS):
    fn()  # warm
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("setup_demo", verbosity=0, stdout=quiet)

    from io import BytesIO

    from pypdf import PdfReader
    from weasyprint import HTML

    from assessments.documents import analysis_context
    from assessments.models import Assessment
    from ita_portal.pdf import html_to_pdf, render_html
    from plans.models import Plan

    assessment = Assessment.objects.get(agency__code="POLSONGKHRAM", fiscal_year__year=2568)
    html = render_html("reports/analysis.html", analysis_context(assessment))
    pages = len(PdfReader(BytesIO(html_to_pdf(html))).pages)
    rows = []
    ms = median_ms(lambda: html_to_pdf(render_html("reports/analysis.html", analysis_context(assessment))))
    rows.append(("analysis report, seed 000 (uncached)", ms, pages))
    plain = median_ms(lambda: HTML(string=html, base_url=str(ROOT)).write_pdf())
    rows.append(("  same HTML, plain WeasyPrint", plain, pages))

    plan = Plan.objects.get(agency__code="POLSONGKHRAM", status=Plan.Status.SIGNED)
    signed_count = plan.measures.count()
    draft = Plan.objects.filter(status=Plan.Status.DRAFT).first()
    measures = list(plan.measures.all())
    # The announcement with a 20-measure attachment: a draft plan padded to 20 measures.
    while draft.measures.count() < 20:
        m = measures[draft.measures.count() % len(measures)]
        m.pk = None
        m._state.adding = True
        m.plan = draft
        m.save()
    from plans.announcement import announcement_context

    def announcement_pdf():
        return html_to_pdf(render_html("reports/announcement.html", announcement_context(draft, signed=False)))

    ann_pages = len(PdfReader(BytesIO(announcement_pdf())).pages)
    ms = median_ms(announcement_pdf)
    rows.append((f"announcement, {draft.measures.count()}-measure attachment (uncached)", ms, ann_pages))

    client = Client()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="staff"))
    url = reverse("plans:document", args=[plan.pk, "announcement"])
    assert client.get(url).status_code == 200
    ms = median_ms(lambda: client.get(url))
    rows.append((f"stored signed announcement via the view ({signed_count} measures)", ms, None))
    url = reverse("assessments:analysis_pdf", args=[assessment.pk])
    assert client.get(url).status_code == 200
    ms = median_ms(lambda: client.get(url))
    rows.append(("cached analysis report via the view", ms, None))

    print(f"{'document':<62} {'median ms':>10} {'pages':>6} {'ms/page':>8}")
    for name, ms, pages in rows:
        per_page = f"{ms / pages:8.0f}" if pages else " " * 8
        print(f"{name:<62} {ms:10.0f} {pages or '':>6} {per_page}")


if __name__ == "__main__":
    main()
