#!/usr/bin/env python
"""Benchmark document rendering against a "reference page", in one process.

One command from a fresh clone, once `make test` has made .venv:

    .venv/bin/python scripts/bench_pdf.py [--postgres] [--markdown]

Builds its own database with the demo data (with --postgres a throwaway PostgreSQL server
started with scripts/pg_dev_server.sh and stopped at the end; else DATABASE_URL if set, else a
temporary SQLite file), then prints the machine (cores, load average at the start and the end),
each figure, its goal and whether it was met:
- the reference page: one A4 page of a plain 16 pt Thai table (Sarabun, the project's
  @font-face) laid out by raw WeasyPrint in this process, without Django;
- the analysis report of the demo อบต.พลสงคราม (seed 000 figures) and an announcement with a
  20-measure attachment, each rendered fresh (context, template, layout): pages, median ms and
  the cost in reference pages, against the goals (≤ 6 and ≤ 3);
- a stored document (rendered ahead, plans.prerender) served through the download view, and
  the stored signed announcement, against the goal (≤ 30 ms);
since the ratio is what travels between machines. Medians of 5 warm runs. --markdown adds the
table in Markdown for the README. Exit status 3 when a goal was missed."""

import os
import sys

import benchlib  # scripts/, beside this file

RUNS = 5
GOALS = {"analysis": 6, "announcement": 3, "served_ms": 30}

REFERENCE_HTML = """<!doctype html><html lang="th"><head><meta charset="utf-8"><style>
@font-face {{ font-family: "Sarabun"; src: url("{font_dir}/Sarabun-Regular.ttf"); font-weight: 400; }}
@font-face {{ font-family: "Sarabun"; src: url("{font_dir}/Sarabun-Bold.ttf"); font-weight: 700; }}
@page {{ size: A4; margin: 2.5cm 2cm 2cm 3cm; }}
html {{ font-family: "Sarabun"; font-size: 16pt; line-height: 1.4; }}
table {{ width: 100%; border-collapse: collapse; }}
th, td {{ border: 0.6pt solid #000; padding: 2pt 4pt; text-align: left; }}
th {{ font-weight: 700; }}
</style></head><body><table>
<thead><tr><th>ลำดับ</th><th>รายการ</th><th>คะแนน</th></tr></thead><tbody>
{rows}
</tbody></table></body></html>"""
REFERENCE_ROW = "<tr><td>{n}</td><td>การเปิดเผยข้อมูลการจัดซื้อจัดจ้างประจำปี</td><td>{score}</td></tr>"


def reference_html(rows):
    from ita_portal.pdf import FONT_DIR

    body = "\n".join(REFERENCE_ROW.format(n=n, score=f"{80 + n % 20}.50") for n in range(1, rows + 1))
    return REFERENCE_HTML.format(font_dir=FONT_DIR.as_uri(), rows=body)


def reference_page():
    """The fullest one-page table (the row count is chosen here, untimed), and its median ms."""
    from weasyprint import HTML

    from ita_portal.pdf import font_config

    rows = 40
    while rows > 1:
        html = reference_html(rows)
        if len(HTML(string=html).render(font_config=font_config()).pages) == 1:
            break
        rows -= 1
    ms = benchlib.median_ms(lambda: HTML(string=html).write_pdf(font_config=font_config()))
    return rows, ms


def main():
    args = benchlib.setup(benchlib.parser(__doc__))
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    call_command("migrate", verbosity=0)
    with open(os.devnull, "w") as quiet:
        call_command("setup_demo", verbosity=0, stdout=quiet)

    from io import BytesIO

    from pypdf import PdfReader

    from assessments.documents import analysis_context
    from assessments.models import Assessment
    from ita_portal.pdf import html_to_pdf, render_html
    from plans import prerender
    from plans.announcement import announcement_context
    from plans.models import Plan

    def pages_of(pdf):
        return len(PdfReader(BytesIO(pdf)).pages)

    ref_rows, ref_ms = reference_page()
    print(f"reference page: one A4 page, a {ref_rows}-row 16 pt Thai table, raw WeasyPrint: {ref_ms:.0f} ms")

    assessment = Assessment.objects.select_related("agency", "fiscal_year").get(
        agency__code="POLSONGKHRAM", fiscal_year__year=2568
    )

    def analysis_pdf():
        return html_to_pdf(render_html("reports/analysis.html", analysis_context(assessment)))

    plan = Plan.objects.get(agency__code="POLSONGKHRAM", status=Plan.Status.SIGNED)
    draft = Plan.objects.filter(status=Plan.Status.DRAFT).select_related("agency", "assessment__fiscal_year").first()
    measures = list(plan.measures.all())
    # The announcement with a 20-measure attachment: a draft plan padded to 20 measures.
    while draft.measures.count() < 20:
        m = measures[draft.measures.count() % len(measures)]
        m.pk = None
        m._state.adding = True
        m.plan = draft
        m.save()

    def announcement_pdf():
        return html_to_pdf(render_html("reports/announcement.html", announcement_context(draft, signed=False)))

    rows = []
    for name, goal, render in (
        ("analysis report, อบต.พลสงคราม seed 000, fresh", GOALS["analysis"], analysis_pdf),
        (f"announcement, {draft.measures.count()}-measure attachment, fresh", GOALS["announcement"], announcement_pdf),
    ):
        pages = pages_of(render())
        ms = benchlib.median_ms(render)
        rows.append((name, pages, ms, ms / ref_ms, goal))

    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="staff"))
    prerender.document_prerender("analysis", assessment)
    served = []
    url = reverse("assessments:analysis_pdf", args=[assessment.pk])
    first = client.get(url)
    assert first.status_code == 200 and first.content.startswith(b"%PDF"), first.status_code
    served.append(("stored analysis report (rendered ahead) via the view", benchlib.median_ms(lambda: client.get(url))))
    etag = first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    served.append(("  the same, If-None-Match → 304", benchlib.median_ms(lambda: client.get(url, HTTP_IF_NONE_MATCH=etag))))
    url = reverse("plans:document", args=[plan.pk, "announcement"])
    assert client.get(url).status_code == 200
    served.append((f"stored signed announcement via the view ({len(measures)} measures)", benchlib.median_ms(lambda: client.get(url))))

    report = benchlib.Report(args, title=(
        f"documents, in one process, medians of {RUNS} warm runs; reference page: one A4 page, a {ref_rows}-row "
        f"16 pt Thai table laid out by raw WeasyPrint, {ref_ms:.0f} ms"
    ))
    for name, pages, ms, ratio, goal in rows:
        report.add(name, f"{ratio:.1f} reference pages ({pages} pages, {ms:.0f} ms)", f"≤ {goal} reference pages",
                   ratio <= goal)
    for name, ms in served:
        goal = GOALS["served_ms"]
        report.add(name, f"{ms:.1f} ms", f"≤ {goal} ms", ms <= goal)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
