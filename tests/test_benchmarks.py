"""The benchmark scripts' printing (scripts/benchlib.py, scripts/load/summary.py): every figure
beside its goal, met or NOT met, the machine line, the Markdown table for the README, and exit
status 3 when a goal is missed. Nothing here is timed: the figures are given."""

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import benchlib  # noqa: E402

RUN = SimpleNamespace(markdown=False, database="PostgreSQL 15.10", load_at_start="0.10, 0.20, 0.30")


def test_it_exits_3_and_names_the_goal_that_was_missed(capsys):
    report = benchlib.Report(RUN, title="documents")
    report.add("analysis report, fresh", "10.9 reference pages (13 pages, 1500 ms)", "≤ 6 reference pages", False)
    report.add("stored analysis report via the view", "18.0 ms", "≤ 30 ms", True)
    report.add("fresh render, 2 worker processes", "0.91/s", "(none: printed beside)")

    assert report.finish() == 3
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[1] == "documents"
    assert lines[2].split() == ["measure", "measured", "goal", "result"]
    assert lines[3].endswith("≤ 6 reference pages     NOT met")
    assert lines[4].endswith("≤ 30 ms                 met")
    assert lines[5].endswith("(none: printed beside)")
    assert "1 goal(s) NOT met: analysis report, fresh" in out
    assert f"machine at end: {benchlib.hardware()}, load average " in out
    assert "Markdown" not in out


def test_it_exits_0_when_every_goal_is_met(capsys):
    report = benchlib.Report(RUN)
    report.add("stored, 2 worker processes", "4.90/s", "≥ 2/s", True)
    report.add("fresh, 2 worker processes", "1.00/s")

    assert report.finish() == 0
    assert capsys.readouterr().out.splitlines()[-1] == "every goal met"


def test_it_prints_the_same_table_in_markdown_with_the_machine_and_database(capsys):
    report = benchlib.Report(SimpleNamespace(**{**vars(RUN), "markdown": True}))
    report.add("  sorted by IIT | a tool score", "27 ms, 8 queries", "≤ 300 ms", True)
    report.add("fresh, 1 worker process", "1.60/s")
    report.lines("1.50, 1.00, 0.50")  # no side effect

    report.finish()
    out = capsys.readouterr().out
    markdown = out[out.index("Markdown:"):].splitlines()
    assert markdown[2] == (f"Measured with PostgreSQL 15.10 on {benchlib.hardware()}; "
                           f"load average 0.10, 0.20, 0.30 at the start, {benchlib.load_average()} at the end.")
    assert markdown[4:] == [
        "| measure | measured | goal | result |",
        "|---|---:|---|---|",
        "| sorted by IIT \\| a tool score | 27 ms, 8 queries | ≤ 300 ms | met |",
        "| fresh, 1 worker process | 1.60/s |  |  |",
    ]


def test_it_lines_up_thai_text_by_the_columns_it_takes():
    # Above- and below-line vowels and tone marks take no column in a terminal.
    assert benchlib.width("เชียงใหม่") == 7
    lines = benchlib.table(("page", "ms"), [("จังหวัดเชียงใหม่", "22"), ("province table", "9")], right=(1,))
    assert [benchlib.width(line) for line in lines] == [18, 18, 18]
    assert lines[1] == "จังหวัดเชียงใหม่    22" and lines[2] == "province table   9"


def test_it_starts_with_a_median_of_the_timed_calls_only():
    calls = []
    benchlib.median_ms(lambda: calls.append(1), runs=5, warm=2)
    assert len(calls) == 7
    assert benchlib.met(True) == "met" and benchlib.met(False) == "NOT met" and benchlib.met(None) == ""


def _summary(tmp_path, timings, cpu, **env):
    (tmp_path / "timings.tsv").write_text("".join("\t".join(map(str, row)) + "\n" for row in timings))
    (tmp_path / "cpu.log").write_text("".join("\t".join(map(str, row)) + "\n" for row in cpu))
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load" / "summary.py"), tmp_path / "timings.tsv", tmp_path / "cpu.log"],
        capture_output=True, text=True, env={"LOAD_AVERAGE_BEFORE": "0.80 0.70 0.60", "PATH": "/usr/bin:/bin", **env},
    )


LOGIN = [("/accounts/login/ (POST)", 600, 0), ("/accounts/login/ (form)", 5, 0)]
LOGIN_CPU = [(260.0, 302, "POST", "/accounts/login/ (POST)"), (20.0, 200, "GET", "/accounts/login/ (POST)")]


def test_it_reports_a_load_test_page_over_its_p95_goal_and_exits_3(tmp_path):
    timings = [*LOGIN] + [("/plans/[id]/", 100, 0)] * 18 + [("/plans/[id]/", 900, 0)] * 2
    result = _summary(tmp_path, timings, [*LOGIN_CPU, (12.5, 200, "GET", "/plans/[id]/")])

    assert result.returncode == 3, result.stderr
    lines = result.stdout.splitlines()
    assert "| page views p95 ≤ 300 ms | 900 ms all together; over it: /plans/[id]/ | NOT met |" in lines
    assert "| log-in p95 ≤ 1.5 s | 600 ms | met |" in lines
    assert "| 0 errors | 0 of 22 requests | met |" in lines
    assert "| Python ≤ 20 ms per heavy page (median) | highest 12.5 ms | met |" in lines
    assert any(line.startswith("machine: ") and "load average 0.80, 0.70, 0.60 at the start of the run" in line
               for line in lines)
    assert lines[-1] == "1 goal(s) NOT met: page views p95 ≤ 300 ms"


def test_it_passes_a_load_test_that_meets_every_goal(tmp_path):
    timings = [*LOGIN] + [("/agencies/[code]/", 40, 0)] * 20
    result = _summary(tmp_path, timings, [*LOGIN_CPU, (13.4, 200, "GET", "/agencies/[code]/")])

    assert result.returncode == 0, result.stderr
    assert "| log-in p95 ≤ 1.5 s | 600 ms | met |" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "every goal met"


def test_it_gathers_every_benchmark_with_its_goals_into_one_markdown_table(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv("BENCH_RESULTS", str(results))
    bulk = benchlib.Report(RUN, name="bench_bulk")
    bulk.add("stored, 2 worker processes", "4.90/s", "≥ 2/s", True)
    bulk.add("fresh, 2 worker processes", "1.00/s", "(none: printed beside)")
    assert bulk.finish() == 0
    pdf = benchlib.Report(RUN, name="bench_pdf")
    pdf.add("analysis report, fresh", "9.1 reference pages", "≤ 6 reference pages", False)
    assert pdf.finish() == 3
    timings = [*LOGIN] + [("/agencies/[code]/", 40, 0)] * 20
    assert _summary(tmp_path, timings, [*LOGIN_CPU, (13.4, 200, "GET", "/agencies/[code]/")],
                    BENCH_RESULTS=str(results)).returncode == 0
    capsys.readouterr()

    lines = benchlib.summary(results)
    assert lines[0] == f"Measured on {benchlib.hardware()}, PostgreSQL 15.10; the last column is the load average " \
                       "(1 min) when each benchmark started and ended."
    assert lines[2:4] == ["| benchmark | measure | measured | goal | result | load average |", "|---|---|---:|---|---|---|"]
    # The load average at the end is the machine's own, read when each report finished.
    assert lines[4].startswith("| bench_bulk | stored, 2 worker processes | 4.90/s | ≥ 2/s | met | 0.10 → ")
    assert lines[5].startswith("| bench_bulk | fresh, 2 worker processes | 1.00/s | (none: printed beside) |  | ")
    assert lines[6].startswith("| bench_pdf | analysis report, fresh | 9.1 reference pages | ≤ 6 reference pages | NOT met |")
    assert lines[7].startswith("| load test | 50 users, gunicorn 2 workers: page views p95 | 40 ms all together | ≤ 300 ms | met | 0.80 → ")
    assert lines[9].startswith("| load test | 50 users, gunicorn 2 workers: errors | 0 of 22 requests | 0 errors | met |")
    assert lines[10].startswith("| load test | 50 users, gunicorn 2 workers: Python per heavy page (median) | "
                                "highest 13.4 ms | ≤ 20 ms | met |")
    assert lines[-1] == "1 goal(s) NOT met"
