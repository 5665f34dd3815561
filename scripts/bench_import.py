#!/usr/bin/env python
"""Benchmark the score import on a national file.

Usage: .venv/bin/python scripts/bench_import.py [--postgres] [--repeat N] [--questions] [--agencies N]

Generates the national indicator-level CSV (8,317 synthetic agencies GEN00001…, FY2568,
overall + indicators 1–10 = 91,487 rows, realistic Decimal scores; with --questions the
question-level file: i1–i15, e1–e9 public/survey, O1–O28 = 61 rows per agency) into a temp
dir, builds its own database (a temp SQLite file; DATABASE_URL if set; with --postgres a
throwaway PostgreSQL server that scripts/pg_dev_server.sh starts in a temp dir and stops at the
end, as .ci/run does), and times:
  - the preview (score_import_plan with the comparison, what the admin shows) on an empty DB,
  - import_scores, first import (creates the agencies and assessments, the scores and their
    history), recorded as the command records it (user system-import),
  - the preview again, on the full DB,
  - import_scores again (the same file: nothing changes),
  - the admin preview of the file (upload through the test client, check, render the page),
  - a plain bulk_create(update_conflicts=True, unique_fields=[assessment, item, part],
    update_fields=[value]) of the same rows (Score objects built from the parsed rows),
    into an empty score table (insert) and again over the full one (upsert),
and prints rows, seconds, rows/s, the ratio of each import to its baseline (first import to
the insert, re-import to the upsert), the goal (≤ 1.3×) and whether it was met. With --repeat N
the whole sequence runs N times on the same database (cleaned in between) and the goal is
judged on the median ratio; each run's ratios are printed. Exit status 3 if a goal is not met.
The goal is judged on wall-clock time; beside it the CPU seconds of this process and of its
PostgreSQL backend (from /proc, when the server runs on this machine), which a shared machine's
load disturbs much less.
Timed with DEBUG off, as the portal runs in production (DEBUG's query log costs a national
import several tenths of a second on SQLite)."""

import argparse
import atexit
import csv
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = Decimal("1.3")  # issue 12: each import within 1.3× of a plain bulk_create of the same rows


def start_postgres():
    """A throwaway PostgreSQL server (scripts/pg_dev_server.sh) in a temp dir, stopped and
    removed when the script exits; returns its DATABASE_URL."""
    directory = tempfile.mkdtemp(prefix="ita-bench-pg.")
    with socket.socket() as s:  # a free port, as .ci/run picks one
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = str(ROOT / "scripts" / "pg_dev_server.sh")

    def stop():
        subprocess.run([server, "stop", directory], check=False, stdout=subprocess.DEVNULL)
        shutil.rmtree(directory, ignore_errors=True)

    atexit.register(stop)
    return subprocess.run([server, "start", directory, str(port)], check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true",
                        help="start a throwaway PostgreSQL (scripts/pg_dev_server.sh) and run on it")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole sequence N times (median ratio)")
    parser.add_argument("--questions", action="store_true", help="the question-level file (61 rows per agency)")
    parser.add_argument("--agencies", type=int, default=8317)
    return parser.parse_args()


ARGS = arguments() if __name__ == "__main__" else None
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ita_portal.settings")
if ARGS is not None and ARGS.postgres:
    os.environ["DATABASE_URL"] = start_postgres()
if "DATABASE_URL" not in os.environ:
    os.environ["DATABASE_URL"] = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp())

import django  # noqa: E402

django.setup()
# With DEBUG off (below), WhiteNoise warns that `collectstatic` has not run: no page here needs it.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

AGENCIES = 8317
YEAR = 2568
PROVINCES = (  # noqa: SIM905 (77 names read better as one text)
    "กรุงเทพมหานคร กระบี่ กาญจนบุรี กาฬสินธุ์ กำแพงเพชร ขอนแก่น จันทบุรี ฉะเชิงเทรา ชลบุรี ชัยนาท ชัยภูมิ ชุมพร "
    "เชียงราย เชียงใหม่ ตรัง ตราด ตาก นครนายก นครปฐม นครพนม นครราชสีมา นครศรีธรรมราช นครสวรรค์ นนทบุรี นราธิวาส "
    "น่าน บึงกาฬ บุรีรัมย์ ปทุมธานี ประจวบคีรีขันธ์ ปราจีนบุรี ปัตตานี พระนครศรีอยุธยา พะเยา พังงา พัทลุง พิจิตร "
    "พิษณุโลก เพชรบุรี เพชรบูรณ์ แพร่ ภูเก็ต มหาสารคาม มุกดาหาร แม่ฮ่องสอน ยโสธร ยะลา ร้อยเอ็ด ระนอง ระยอง "
    "ราชบุรี ลพบุรี ลำปาง ลำพูน เลย ศรีสะเกษ สกลนคร สงขลา สตูล สมุทรปราการ สมุทรสงคราม สมุทรสาคร สระแก้ว "
    "สระบุรี สิงห์บุรี สุโขทัย สุพรรณบุรี สุราษฎร์ธานี สุรินทร์ หนองคาย หนองบัวลำภู อ่างทอง อำนาจเจริญ อุดรธานี "
    "อุตรดิตถ์ อุทัยธานี อุบลราชธานี"
).split()
TYPES = [("อบต.", "องค์การบริหารส่วนตำบล", 5300), ("ทต.", "เทศบาลตำบล", 2250), ("ทม.", "เทศบาลเมือง", 195),
         ("ทน.", "เทศบาลนคร", 30), ("อบจ.", "องค์การบริหารส่วนจังหวัด", 76)]
HEADER = ["agency_code", "agency_name", "agency_type", "province", "district", "fiscal_year", "item", "score"]
CENT = Decimal("0.01")


def score(rng, mean=92.0, spread=6.0):
    if rng.random() < 0.15:
        return Decimal("100.00")
    value = min(100.0, max(35.0, rng.gauss(mean, spread)))
    return Decimal(repr(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def agencies(count, rng):
    kinds = [t for t in TYPES for _ in range(t[2])]
    for n in range(1, count + 1):
        short, long_name, _ = kinds[(n * 7919) % len(kinds)] if n <= len(kinds) else ("อื่น ๆ", "หน่วยงาน", 0)
        province = PROVINCES[n % len(PROVINCES)]
        yield (f"GEN{n:05d}", f"{long_name}ทดสอบ{n}", short, province, f"อำเภอที่ {n % 17 + 1}")


def indicator_rows(agency, rng):
    values = {str(i): score(rng) for i in range(1, 11)}
    iit = sum(values[str(i)] for i in range(1, 6)) / 5
    eit = sum(values[str(i)] for i in range(6, 9)) / 3
    oit = (values["9"] + values["10"]) / 2
    overall = (Decimal("0.30") * iit + Decimal("0.30") * eit + Decimal("0.40") * oit).quantize(CENT, ROUND_HALF_UP)
    yield (*agency, YEAR, "overall", overall)
    for code, value in values.items():
        yield (*agency, YEAR, code, value)


def question_rows(agency, rng):
    for i in range(1, 16):
        yield (*agency, YEAR, f"i{i}", score(rng, 95, 5))
    for e in range(1, 10):
        yield (*agency, YEAR, f"e{e}:public", score(rng, 90, 8))
        yield (*agency, YEAR, f"e{e}:survey", score(rng, 88, 8))
    for o in range(1, 29):
        yield (*agency, YEAR, f"O{o}", Decimal(rng.choice(["100.00"] * 8 + ["50.00", "0.00"])))


def write_file(path, count, questions):
    rng = random.Random(2568)
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for agency in agencies(count, rng):
            for row in (question_rows if questions else indicator_rows)(agency, rng):
                writer.writerow(row[:-1] + (f"{row[-1]:.2f}",))
                rows += 1
    return rows


def clean():
    """Remove what an earlier run left in this database (synthetic agencies only)."""
    from assessments.models import Agency, Assessment, ImportBatch, Score

    Score.history.filter(import_batch__file_name__startswith="national-")._raw_delete(connection.alias)
    Score.objects.filter(assessment__agency__code__startswith="GEN")._raw_delete(connection.alias)
    Assessment.objects.filter(agency__code__startswith="GEN")._raw_delete(connection.alias)
    Agency.objects.filter(code__startswith="GEN")._raw_delete(connection.alias)
    ImportBatch.objects.filter(file_name__startswith="national-")._raw_delete(connection.alias)


def server_cpu():
    """CPU seconds used so far by this connection's PostgreSQL backend, if it runs on this
    machine (read from /proc); 0 on SQLite, whose work is this process's own."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def timed(fn):
    """(wall seconds, CPU seconds of this process and its database server, fn's value). On a
    shared machine the CPU figure is the steadier one: it does not count the time spent waiting
    for a core."""
    server = server_cpu()
    cpu = time.process_time()
    start = time.perf_counter()
    value = fn()
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    after = server_cpu()
    if server is not None and after is not None:
        cpu += after - server
    return (wall, cpu), value


def admin_preview(path):
    """The admin's preview of the file, posted by a superuser through the test client."""
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    user, _ = User.objects.get_or_create(username="bench-import", defaults={"is_staff": True, "is_superuser": True})
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="text/csv")
    return client.post(reverse("admin:assessments_score_import"), {"import_file": upload})


def baseline(path):
    """Score objects from the parsed rows, then one plain bulk_create(update_conflicts=True)."""
    from assessments.models import Assessment, FrameworkItem, Score

    with open(path, encoding="utf-8", newline="") as f:
        parsed = list(csv.reader(f))[1:]
    assessments = dict(
        Assessment.objects.filter(fiscal_year__year=YEAR).values_list("agency__code", "pk")
    )
    items = {i.code: i.pk for i in FrameworkItem.objects.filter(fiscal_year__year=YEAR)}

    def run():
        scores = []
        for code, *_, item, value in parsed:
            item_code, _, part = item.partition(":")
            scores.append(Score(assessment_id=assessments[code], item_id=items[item_code], part=part,
                                value=Decimal(value)))
        Score.objects.bulk_create(
            scores, update_conflicts=True, unique_fields=["assessment", "item", "part"], update_fields=["value"]
        )

    return run


def run_once(path, rows):
    """One sequence on a clean database: [(label, seconds, baseline it is compared with)],
    the baselines {"insert": s, "upsert": s}, and the number of assessments with a level."""
    from assessments.management.commands.import_scores import system_import_user
    from assessments.models import Assessment, ImportBatch, Score
    from assessments.resources import import_scores, score_import_plan

    clean()
    # As the command imports (the admin records the staff user): every historical row names a user.
    user = system_import_user()
    results = []
    seconds, plan = timed(lambda: score_import_plan(path, compare=True))
    assert not plan.problems, plan.errors[:5]
    results.append(("preview (dry run), empty DB", seconds, None))
    seconds, report = timed(lambda: import_scores(path, user=user))
    assert report.new == rows, report
    # The audit trail is part of what is timed: one "added" historical row per score.
    batch = ImportBatch.objects.latest("pk")
    assert Score.history.filter(import_batch=batch, history_type="+").count() == rows
    results.append(("import_scores, first import", seconds, "insert"))
    seconds, plan = timed(lambda: score_import_plan(path, compare=True))
    assert plan.unchanged == rows
    results.append(("preview (dry run), full DB", seconds, None))
    seconds, report = timed(lambda: import_scores(path, user=user))
    assert report.unchanged == rows, report
    results.append(("import_scores, re-import (no change)", seconds, "upsert"))
    seconds, response = timed(lambda: admin_preview(path))
    assert response.status_code == 200 and ImportBatch.objects.latest("pk").unchanged == rows
    results.append((f"admin preview: upload, check, page ({len(response.content) / 1e3:.0f} kB)", seconds, None))
    levels = Assessment.objects.filter(agency__code__startswith="GEN").exclude(level="").count()
    import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    run = baseline(path)
    Score.objects.filter(assessment__agency__code__startswith="GEN")._raw_delete(connection.alias)
    insert, _ = timed(run)
    upsert, _ = timed(run)
    results.append(("baseline bulk_create(update_conflicts), empty table", insert, None))
    results.append(("baseline bulk_create(update_conflicts), all rows exist", upsert, None))
    return results, {"insert": insert, "upsert": upsert}, levels, import_rss


def main():
    args = ARGS
    settings.DEBUG = False  # no query log, as in production (read when each cursor is made)
    call_command("migrate", verbosity=0)
    clean()

    kind = "questions" if args.questions else "indicators"
    path = Path(tempfile.mkdtemp()) / f"national-{kind}-{YEAR}.csv"
    rows = write_file(path, args.agencies, args.questions)
    size = path.stat().st_size / 1e6
    vendor = connection.vendor
    load = ", ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"{vendor}: {path.name}, {rows:,} rows, {size:.1f} MB, {args.agencies:,} agencies; "
          f"{os.cpu_count()} cores, load average {load}")

    ratios = {"import_scores, first import": [], "import_scores, re-import (no change)": []}
    cpu_ratios = {label: [] for label in ratios}
    for number in range(1, args.repeat + 1):
        results, base, levels, import_rss = run_once(path, rows)
        if args.repeat > 1:
            print(f"\nrun {number} of {args.repeat}")
        print(f"{'step':<55} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'× baseline':>10} {'CPU s':>6} {'CPU ×':>6}")
        for label, (seconds, cpu), against in results:
            ratio = cpu_ratio = ""
            if against:
                ratios[label].append(seconds / base[against][0])
                cpu_ratios[label].append(cpu / base[against][1])
                ratio, cpu_ratio = f"{seconds / base[against][0]:.2f}", f"{cpu / base[against][1]:.2f}"
            print(f"{label:<55} {rows:>8,} {seconds:>8.2f} {rows / seconds:>9,.0f} {ratio:>10} {cpu:>6.2f} "
                  f"{cpu_ratio:>6}")
        print(f"assessments with a level after the import: {levels:,}")
        print(f"peak memory (max RSS): {import_rss:.0f} MB after the imports, "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB after the baseline")

    print(f"\ngoal on {vendor}: each import within {GOAL}× of a plain bulk_create(update_conflicts) of the same "
          "rows (first import: into an empty score table; re-import: over the full one)")
    met = True
    recorded = []
    for label, values in ratios.items():
        ratio = statistics.median(values)
        ok = ratio <= GOAL
        met &= ok
        recorded.append((f"{label}, {rows:,} rows ({vendor})", f"{ratio:.2f}× baseline", f"≤ {GOAL}×", ok))
        runs = f", median of {', '.join(f'{v:.2f}' for v in values)}" if len(values) > 1 else ""
        print(f"  {label:<40} {ratio:.2f}× (goal ≤ {GOAL}×{runs}): {'met' if ok else 'NOT met'}; "
              f"CPU {statistics.median(cpu_ratios[label]):.2f}×")
    if os.environ.get("BENCH_RESULTS"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import benchlib

        benchlib.record(os.environ["BENCH_RESULTS"], "bench_import", recorded, database=vendor,
                        load_at_start=load, load_at_end=", ".join(f"{n:.2f}" for n in os.getloadavg()))
    return 0 if met else 3


if __name__ == "__main__":
    sys.exit(main())
