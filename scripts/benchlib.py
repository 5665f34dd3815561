"""What the benchmark scripts (scripts/bench_*.py) share: their common command line, the database
each builds for itself, the machine line, medians, and the results table with each figure's goal
and whether it was met.

    import benchlib                                  # scripts/ is on sys.path when a script runs

    parser = benchlib.parser(__doc__)                # with --postgres and --markdown
    parser.add_argument("--agencies", type=int, default=8317)
    args = benchlib.setup(parser)                    # database, environment, django.setup()
    report = benchlib.Report(args)
    report.add("stored PDF served", f"{ms:.0f} ms", goal="≤ 30 ms", ok=ms <= 30)
    report.add("fresh render", f"{rate:.2f}/s")     # no goal: printed beside the others
    sys.exit(report.finish())                        # 0, or 3 when a goal was missed

setup() must run before anything imports a model. Without --postgres the script uses
DATABASE_URL when it is set, else a SQLite file in a temporary folder. With --postgres it starts
a throwaway PostgreSQL server with scripts/pg_dev_server.sh (as .ci/run does) in a temporary
folder and stops it when the script ends, also on Ctrl-C or SIGTERM. Temporary folders (SQLite
file, media) are removed at the end. Processes the script spawns (e.g. the bulk renderer's
worker pool) inherit DATABASE_URL and MEDIA_ROOT through the environment and stop nothing.

With BENCH_RESULTS=FILE in the environment (`make bench` sets it), finish() also appends each
figure to FILE, one JSON object a line, and

    python scripts/benchlib.py summary FILE

prints every benchmark's figures in one Markdown table with the machine: the README's table."""

import argparse
import atexit
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_DEV_SERVER = ROOT / "scripts" / "pg_dev_server.sh"
MISSED_EXIT_STATUS = 3

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def parser(doc):
    """An ArgumentParser whose help is the script's docstring, with the options every benchmark takes."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--postgres", action="store_true",
                   help="start a throwaway PostgreSQL server (scripts/pg_dev_server.sh) for this run and stop "
                        "it at the end; default: DATABASE_URL if set, else a temporary SQLite file")
    p.add_argument("--markdown", action="store_true",
                   help="also print the results as a Markdown table (with the machine line), for the README")
    return p


# --------------------------------------------------------------------------------------------
# Environment and database
# --------------------------------------------------------------------------------------------

_owner_pid = os.getpid()
_temp_dirs = []
_pg_dir = None


def _temp_dir(prefix):
    path = tempfile.mkdtemp(prefix=prefix)
    _temp_dirs.append(path)
    return path


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres():
    """Start a throwaway PostgreSQL server and return its DATABASE_URL; it stops at exit."""
    global _pg_dir
    # A short path in /tmp: the unix socket lives in it; mkdtemp gives 0700, which the script
    # chowns to the server user when run as root.
    _pg_dir = tempfile.mkdtemp(prefix="ita-bench-pg.", dir="/tmp")
    _temp_dirs.append(_pg_dir)
    out = subprocess.run(["bash", str(PG_DEV_SERVER), "start", _pg_dir, str(_free_port())],
                         check=True, stdout=subprocess.PIPE, text=True)
    return out.stdout.strip().splitlines()[-1]


def _cleanup():
    if os.getpid() != _owner_pid:
        return  # a forked child: the folders and the server belong to the parent
    global _pg_dir
    if _pg_dir:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 (Django may not be set up; the server stops anyway)
            pass
        subprocess.run(["bash", str(PG_DEV_SERVER), "stop", _pg_dir], check=False, stdout=subprocess.DEVNULL)
        _pg_dir = None
    for path in _temp_dirs:
        shutil.rmtree(path, ignore_errors=True)
    _temp_dirs.clear()


def _exit_on_sigterm(signum, frame):
    sys.exit(128 + signum)  # runs the atexit cleanup, which a bare SIGTERM would skip


def setup(p, argv=None):
    """Parse the command line, prepare the environment and the database, set Django up.

    Returns the parsed arguments. Prints the database and the machine line."""
    args = p.parse_args(argv)
    atexit.register(_cleanup)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ita_portal.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    if "MEDIA_ROOT" not in os.environ:
        os.environ["MEDIA_ROOT"] = _temp_dir("ita-bench-media.")
    if args.postgres:
        os.environ["DATABASE_URL"] = start_postgres()
    elif "DATABASE_URL" not in os.environ:
        os.environ["DATABASE_URL"] = "sqlite:///" + str(Path(_temp_dir("ita-bench-db.")) / "bench.sqlite3")

    import django

    django.setup()
    args.database = database()
    args.load_at_start = load_average()
    print(f"database: {args.database}")
    print(f"machine at start: {hardware()}, load average {args.load_at_start}")
    sys.stdout.flush()
    return args


def database():
    """The database the run uses, e.g. 'PostgreSQL 15.10' or 'SQLite 3.40.1'."""
    from django.db import connection

    if connection.vendor == "postgresql":
        connection.ensure_connection()
        version = connection.pg_version  # e.g. 150010
        return f"PostgreSQL {version // 10000}.{version % 100}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


# --------------------------------------------------------------------------------------------
# Machine and measuring
# --------------------------------------------------------------------------------------------

def load_average():
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware():
    return f"{os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}"


def machine():
    """Cores, CPU model and load average (1, 5, 15 min): the numbers only mean something beside it."""
    return f"{hardware()}, load average {load_average()}"


def median_ms(fn, runs=5, warm=1):
    """Median wall time of fn() in milliseconds, over `runs` calls after `warm` untimed ones."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def met(ok):
    """The word for a goal: 'met', 'NOT met', or '' for a figure without a goal."""
    if ok is None:
        return ""
    return "met" if ok else "NOT met"


# --------------------------------------------------------------------------------------------
# The results table
# --------------------------------------------------------------------------------------------

def width(text):
    """Columns the text takes in a terminal: Thai vowel and tone marks take none."""
    return sum(1 for c in text if unicodedata.category(c) not in ("Mn", "Me", "Cf"))


def pad(text, size, right=False):
    space = " " * max(0, size - width(text))
    return space + text if right else text + space


def table(header, rows, right=()):
    """Plain-text table lines; columns whose index is in `right` are right-aligned."""
    sizes = [max(width(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    return ["  ".join(pad(str(cell), sizes[i], i in right) for i, cell in enumerate(row)).rstrip()
            for row in [header, *rows]]


def markdown_table(header, rows, right=()):
    def escape(cell):
        return str(cell).replace("|", "\\|")

    lines = ["| " + " | ".join(escape(h) for h in header) + " |",
             "|" + "|".join("---:" if i in right else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(escape(c).strip() for c in row) + " |" for row in rows]
    return lines


class Report:
    """The figures of a run, each with its goal and whether it was met, printed as one table."""

    HEADER = ("measure", "measured", "goal", "result")

    def __init__(self, args=None, *, markdown=None, title="", name=None):
        self.name = name or Path(sys.argv[0]).stem
        self.markdown = bool(getattr(args, "markdown", False)) if markdown is None else markdown
        self.database = getattr(args, "database", "")
        self.load_at_start = getattr(args, "load_at_start", None) or load_average()
        self.title = title
        self.rows = []
        self.notes = []

    def add(self, measure, measured, goal="", ok=None):
        """One figure. `ok` is True or False against `goal`, or None for a figure printed without a goal."""
        self.rows.append((measure, measured, goal, ok))

    def note(self, text):
        """A line printed under the table (how it was measured, what a figure includes)."""
        self.notes.append(text)

    @property
    def missed(self):
        return [row for row in self.rows if row[3] is False]

    def lines(self, load_at_end):
        rows = [(m, v, g, met(ok)) for m, v, g, ok in self.rows]
        out = [""]
        if self.title:
            out.append(self.title)
        out += table(self.HEADER, rows, right=(1,))
        out += self.notes
        out.append(f"machine at end: {hardware()}, load average {load_at_end}")
        if self.missed:
            out.append(f"{len(self.missed)} goal(s) NOT met: " + "; ".join(r[0].strip() for r in self.missed))
        else:
            out.append("every goal met" if any(r[3] is not None for r in self.rows) else "no goal checked")
        if self.markdown:
            out += ["", "Markdown:", ""]
            on = f" with {self.database}" if self.database else ""
            out.append(f"Measured{on} on {hardware()}; load average {self.load_at_start} at the start, "
                       f"{load_at_end} at the end.")
            out.append("")
            out += markdown_table(self.HEADER, rows, right=(1,))
        return out

    def finish(self):
        """Print the table, the machine at the end and the verdict; return the exit status (3: a goal missed).

        With BENCH_RESULTS set, also append the figures to that file (see summary())."""
        load_at_end = load_average()
        print("\n".join(self.lines(load_at_end)))
        sys.stdout.flush()
        if os.environ.get("BENCH_RESULTS"):
            record(os.environ["BENCH_RESULTS"], self.name, self.rows, database=self.database,
                   load_at_start=self.load_at_start, load_at_end=load_at_end)
        return MISSED_EXIT_STATUS if self.missed else 0


def record(path, name, rows, *, database, load_at_start, load_at_end):
    """Append (measure, measured, goal, ok) rows to the results file, one JSON object a line."""
    with open(path, "a", encoding="utf-8") as f:
        for measure, measured, goal, ok in rows:
            f.write(json.dumps({
                "benchmark": name, "measure": measure.strip(), "measured": measured, "goal": goal, "ok": ok,
                "database": database, "load_at_start": load_at_start, "load_at_end": load_at_end,
            }, ensure_ascii=False) + "\n")


def summary(path):
    """Every benchmark's figures from the results file, as the README's Markdown table with the machine."""
    results = []
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            results = [json.loads(line) for line in f if line.strip()]
    if not results:
        return ["no benchmark results recorded"]

    def one_minute(load):
        return load.split(",")[0].split()[0]

    databases = sorted({r["database"] for r in results if r["database"]})
    rows = [(r["benchmark"], r["measure"], r["measured"], r["goal"], met(r["ok"]),
             f"{one_minute(r['load_at_start'])} → {one_minute(r['load_at_end'])}") for r in results]
    missed = [r for r in results if r["ok"] is False]
    lines = [f"Measured on {hardware()}" + (f", {', '.join(databases)}" if databases else "")
             + "; the last column is the load average (1 min) when each benchmark started and ended.", ""]
    lines += markdown_table(("benchmark", "measure", "measured", "goal", "result", "load average"), rows, right=(2,))
    lines += ["", f"{len(missed)} goal(s) NOT met" if missed else "every goal met"]
    return lines


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "summary":
        sys.exit("usage: python scripts/benchlib.py summary RESULTS_FILE")
    print("\n".join(summary(sys.argv[2])))
