"""The load test's report: response times per page and for logging in, each page's Python cost,
the goals and whether each was met (run_load_test.sh runs it after locust).

    python summary.py TIMINGS CPU_LOG

TIMINGS: one line per request from the locustfile (page TAB ms TAB failed); CPU_LOG: one line per
request from cpu_timing.py (cpu ms TAB status TAB method TAB page). It prints the machine (cores,
load average when the run started, from LOAD_AVERAGE_BEFORE, and now), the pages table in
Markdown, then each goal, what was measured and whether it was met, also in Markdown, ready for
the README. With BENCH_RESULTS=FILE (`make bench` sets it) it also appends each goal to FILE, as
scripts/benchlib.py does, for the summary of all benchmarks. Exit status 3 when a goal was missed. Goals (environment variables): LOAD_P95_TARGET_MS (300) for every page view and for
all of them together, LOAD_LOGIN_P95_TARGET_MS (1500) for the log-in POST (with its redirect
to the home page), 0 errors, and LOAD_CPU_TARGET_MS (20) for the median Python cost of the
heaviest pages (HEAVY below)."""

import json
import os
import statistics
import sys
from collections import defaultdict

MISSED_EXIT_STATUS = 3  # as scripts/benchlib.py

LOGIN_FORM, LOGIN_POST = "/accounts/login/ (form)", "/accounts/login/ (POST)"
HEAVY = (
    "/agencies/[code]/",
    "/plans/[id]/",
    "/plans/[id]/progress/",
    "/compare/ (province table)",
    "/compare/agency/[code]/[year]/",
    "/compare/agency/[code]/trend/",
    "/admin/assessments/assessment/[id]/change/",
)


def percentile(values, p):
    """Nearest-rank percentile (p in 0–100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def read(path, columns):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.count("\t") == columns - 1]


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return f" ({line.split(':', 1)[1].strip()})"
    except OSError:
        pass
    return ""


def load_before():
    return os.environ.get("LOAD_AVERAGE_BEFORE", "").replace(" ", ", ") or "not recorded"


def load_now():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def machine():
    return f"{os.cpu_count()} cores{cpu_model()}; load average {load_before()} at the start of the run, {load_now()} at the end"


def record(path, goals, users):
    """Append the goals to the results file of `make bench`, in scripts/benchlib.py's format."""
    with open(path, "a", encoding="utf-8") as f:
        for goal, measured, met in goals:
            name, _, limit = goal.partition(" ≤ ")
            if not limit:  # "0 errors"
                name, limit = "errors", goal
            elif " per " in limit:  # "20 ms per heavy page (median)": the page belongs to the measure
                limit, _, per = limit.partition(" per ")
                name, limit = f"{name} per {per}", f"≤ {limit}"
            else:
                limit = f"≤ {limit}"
            f.write(json.dumps({
                "benchmark": "load test", "measure": f"{users} users, gunicorn 2 workers: {name}",
                "measured": measured, "goal": limit, "ok": met, "database": "",
                "load_at_start": load_before(), "load_at_end": load_now(),
            }, ensure_ascii=False) + "\n")


def main():
    timings_path, cpu_path = sys.argv[1:3]
    page_target = float(os.environ.get("LOAD_P95_TARGET_MS", 300))
    login_target = float(os.environ.get("LOAD_LOGIN_P95_TARGET_MS", 1500))
    cpu_target = float(os.environ.get("LOAD_CPU_TARGET_MS", 20))

    times, failures = defaultdict(list), defaultdict(int)
    for name, ms, failed in read(timings_path, 3):
        times[name].append(float(ms))
        failures[name] += failed == "1"
    cpu = defaultdict(list)
    for ms, _status, method, name in read(cpu_path, 4):
        # The log-in POST is followed by the home page it redirects to, sent with the same header.
        if name == LOGIN_POST and method != "POST":
            continue
        cpu[name].append(float(ms))

    logins = [LOGIN_FORM, LOGIN_POST]
    pages = sorted(n for n in times if n not in logins)
    width = max(len(n) for n in [*times, "page views, all together"])
    print(f"| {'page':<{width}} | requests | errors | p50 ms | p95 ms | Python ms (median) | Python ms (p95) |")
    print(f"|{'-' * (width + 2)}|---------:|-------:|-------:|-------:|-------------------:|----------------:|")

    def line(name, values, errors, cpu_values):
        python = (f"{statistics.median(cpu_values):>18.1f} | {percentile(cpu_values, 95):>15.1f}"
                  if cpu_values else f"{'-':>18} | {'-':>15}")
        print(f"| {name:<{width}} | {len(values):>8} | {errors:>6} | {percentile(values, 50):>6.0f} | "
              f"{percentile(values, 95):>6.0f} | {python} |")

    for name in pages:
        line(name, times[name], failures[name], cpu.get(name, []))
    views = [t for n in pages for t in times[n]]
    line("page views, all together", views, sum(failures[n] for n in pages), [c for n in pages for c in cpu.get(n, [])])
    for name in logins:
        if name in times:
            line(name, times[name], failures[name], cpu.get(name, []))

    requests = sum(len(v) for v in times.values())
    errors = sum(failures.values())
    goals = []
    slow = [n for n in pages if percentile(times[n], 95) > page_target]
    goals.append((f"page views p95 ≤ {page_target:.0f} ms",
                  f"{percentile(views, 95):.0f} ms all together" + (f"; over it: {', '.join(slow)}" if slow else ""),
                  not slow and percentile(views, 95) <= page_target))
    login = times.get(LOGIN_POST, [])
    goals.append((f"log-in p95 ≤ {login_target / 1000:g} s",
                  f"{percentile(login, 95):.0f} ms" if login else "no log-in measured",
                  bool(login) and percentile(login, 95) <= login_target))
    goals.append(("0 errors", f"{errors} of {requests} requests", errors == 0))
    heavy = {n: statistics.median(cpu[n]) for n in HEAVY if cpu.get(n)}
    costly = [f"{n} {ms:.1f} ms" for n, ms in heavy.items() if ms > cpu_target]
    goals.append((f"Python ≤ {cpu_target:.0f} ms per heavy page (median)",
                  f"highest {max(heavy.values()):.1f} ms" + (f"; over it: {', '.join(costly)}" if costly else "")
                  if heavy else "not measured", bool(heavy) and not costly))
    print()
    print("| goal | measured | result |")
    print("|---|---|---|")
    for goal, measured, met in goals:
        print(f"| {goal} | {measured} | {'met' if met else 'NOT met'} |")
    print()
    print(f"machine: {machine()}")
    if os.environ.get("BENCH_RESULTS"):
        record(os.environ["BENCH_RESULTS"], goals, os.environ.get("LOAD_USERS", "50"))
    missed = [goal for goal, _, met in goals if not met]
    print(f"{len(missed)} goal(s) NOT met: {'; '.join(missed)}" if missed else "every goal met")
    return MISSED_EXIT_STATUS if missed else 0


if __name__ == "__main__":
    sys.exit(main())
