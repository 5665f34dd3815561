#!/usr/bin/env bash
# Load test on this machine, loopback only (not part of `make test`). One command from a fresh
# clone, once `make test` has made .venv (it is also the last step of `make bench`):
#
#   scripts/load/run_load_test.sh
#   LOAD_AGENCIES=200 LOAD_YEARS=2567-2568 LOAD_USERS=10 LOAD_RUN_TIME=20s scripts/load/run_load_test.sh  # quick
#
# 1. starts a throwaway PostgreSQL (scripts/pg_dev_server.sh) in a temporary directory;
# 2. migrates and loads the demo (setup_demo: demo users, plans in every state, the signed
#    POLSONGKHRAM plan) and the national dataset (generate_demo_data: 8,317 agencies × FY2563–2568);
# 3. creates the load-test accounts (loadstaff01–50, loadprov01–50, demo password) and writes
#    the targets file for locust;
# 4. collects the static files into the temporary directory and starts gunicorn with 2 workers
#    on 127.0.0.1 with production settings (DJANGO_DEBUG=0, manifest static files);
# 5. renders the measured PDFs once on each worker (the PDF cache is per process);
# 6. runs locust headless for LOAD_RUN_TIME (2m) with LOAD_USERS (50) users spawned at
#    LOAD_SPAWN_RATE (2/s: the 50 log-ins spread over 25 s, as people arrive, not all in one
#    second) : each logs in once, then browses with 1–5 s of think time;
# 7. prints (summary.py) p50 and p95 per page and for logging in, each page's Python cost (the
#    CPU time gunicorn spent on it, logged by scripts/load/cpu_timing.py), the goals and whether
#    each was met (both tables in Markdown, for the README), the machine (cores, load average at
#    the start of the run and at the end), then where the CPU went;
# 8. stops gunicorn and PostgreSQL and removes the temporary directory.
#
# Locust is installed from requirements-load.txt into its own venv, .venv-load/ (gevent and its
# greenlet stay out of the app's .venv, where Playwright needs its own greenlet).
# Results (locust CSV files, response times, gunicorn logs with the per-request CPU time) are kept
# in $LOAD_RESULTS (test-artifacts/load/).
# Exit status: 0 when every goal was met (page views p95 ≤ LOAD_P95_TARGET_MS, 300; log-in p95 ≤
# LOAD_LOGIN_P95_TARGET_MS, 1500; no error; Python ≤ LOAD_CPU_TARGET_MS, 20, median per heavy
# page), 3 when the run completed but a goal was missed, other values when the run itself failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
REPO_ROOT=$(pwd -P)
PY="$REPO_ROOT/.venv/bin/python"
LOAD_VENV=${LOAD_VENV:-$REPO_ROOT/.venv-load}
RESULTS=${LOAD_RESULTS:-$REPO_ROOT/test-artifacts/load}
RUN_TIME=${LOAD_RUN_TIME:-2m}
USERS=${LOAD_USERS:-50}
SPAWN_RATE=${LOAD_SPAWN_RATE:-2}
AGENCIES=${LOAD_AGENCIES:-8317}
YEARS=${LOAD_YEARS:-2563-2568}

log() { printf '\n==> %s\n' "$*" >&2; }

[[ -x $PY ]] || { echo "error: $PY not found; run 'make test' (or 'make demo') first" >&2; exit 1; }

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

WORK=$(mktemp -d /tmp/ita-load.XXXXXXXX)
chmod 711 "$WORK"  # the PostgreSQL server user must reach $WORK/pg
PG_DIR="$WORK/pg"
GUNICORN_PID=""
cleanup() {
    local rc=$?
    if [[ -n $GUNICORN_PID ]] && kill -0 "$GUNICORN_PID" 2>/dev/null; then
        log "Stopping gunicorn (pid $GUNICORN_PID)"
        kill -TERM "$GUNICORN_PID" 2>/dev/null || true
        for _ in $(seq 1 30); do kill -0 "$GUNICORN_PID" 2>/dev/null || break; sleep 1; done
        kill -KILL "$GUNICORN_PID" 2>/dev/null || true
    fi
    if [[ -d $PG_DIR ]]; then
        log "Stopping PostgreSQL"
        "$REPO_ROOT/scripts/pg_dev_server.sh" stop "$PG_DIR" || true
    fi
    if [[ -d $WORK ]]; then
        cp "$WORK"/gunicorn*.log "$RESULTS/" 2>/dev/null || true
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$RESULTS"
rm -f "$RESULTS"/locust_*.csv "$RESULTS"/gunicorn*.log "$RESULTS"/timings.tsv

log "Locust ($LOAD_VENV)"
if ! "$LOAD_VENV/bin/python" -c 'import locust' 2>/dev/null; then
    python3 -m venv "$LOAD_VENV"
    "$LOAD_VENV/bin/pip" install --quiet --upgrade pip
    "$LOAD_VENV/bin/pip" install --quiet -r "$REPO_ROOT/requirements-load.txt"
fi
"$LOAD_VENV/bin/locust" --version

log "PostgreSQL"
PG_PORT=$(free_port)
DATABASE_URL=$("$REPO_ROOT/scripts/pg_dev_server.sh" start "$PG_DIR" "$PG_PORT")
APP_PORT=$(free_port)
HOST="http://127.0.0.1:$APP_PORT"

# Production settings, as the deploy guide sets them, on plain HTTP (no TLS proxy on loopback).
export DATABASE_URL
export DJANGO_DEBUG=0
export SECRET_KEY="load-test-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export SIGNING_SECRET_KEY="$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')"
export ALLOWED_HOSTS=127.0.0.1
export SECURE_SSL_REDIRECT=0
export CSRF_TRUSTED_ORIGINS="$HOST"
export PUBLIC_BASE_URL=https://ita.example.go.th
export DJANGO_STATIC_MANIFEST=1
export MEDIA_ROOT="$WORK/media"
export LOAD_STATIC_ROOT="$WORK/static"
export DJANGO_SETTINGS_MODULE=load_settings
# No task worker runs beside the test: a document not yet rendered ahead is rendered during its
# first request (the warm-up) and stored, then served stored by both workers (plans.prerender).
export TASKS_BACKEND=django_tasks.backends.immediate.ImmediateBackend
export PYTHONPATH="$REPO_ROOT/scripts/load:$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export LOAD_TARGETS="$WORK/targets.json"
export LOAD_TIMINGS="$WORK/timings.tsv"   # every response time, written by the locustfile
export LOAD_CPU_LOG="$WORK/gunicorn-cpu.log"  # every request's CPU time, written by cpu_timing.py

log "Database: migrate, demo, national dataset ($AGENCIES agencies, FY$YEARS)"
"$PY" manage.py migrate --noinput -v 0
# The demo first: setup_demo recomputes every assessment in the database, one by one.
"$PY" manage.py setup_demo
"$PY" manage.py generate_demo_data --agencies "$AGENCIES" --years "$YEARS"
"$PY" manage.py collectstatic --noinput -v 0

log "Load-test accounts and targets"
"$PY" manage.py shell <<'EOF'
import json, os

from django.contrib.auth import get_user_model

from assessments.models import Agency, Assessment, Membership
from plans.management.commands.setup_demo import DEMO_PASSWORD
from plans.models import Plan

User = get_user_model()
accounts = {}
for kind, template in (("staff", "staff"), ("province", "province")):
    model = User.objects.get(username=template)
    memberships = list(Membership.objects.filter(user=model))
    names = []
    for n in range(1, 51):
        name = f"load{'staff' if kind == 'staff' else 'prov'}{n:02d}"
        # The demo user's password hash, copied: the same password without 50 PBKDF2 runs here.
        user, _ = User.objects.update_or_create(
            username=name, defaults={"password": model.password, "is_staff": model.is_staff, "first_name": name}
        )
        for m in memberships:
            Membership.objects.get_or_create(user=user, role=m.role, agency=m.agency, province=m.province)
        names.append(name)
    accounts[kind] = names
accounts["warm"] = "staff"

staff_codes = ["POLSONGKHRAM", "DEMO1", "DEMO2", "DEMO3", "DEMO4"]
signed = Plan.objects.get(agency__code="POLSONGKHRAM", status=Plan.Status.SIGNED)
province = Agency.objects.filter(province="นครราชสีมา", code__startswith="GEN").order_by("code")
codes = list(province.values_list("code", flat=True))
targets = {
    "password": DEMO_PASSWORD,
    "accounts": accounts,
    "year": 2568,
    "signed_plan": signed.pk,
    "analysis": Assessment.objects.get(agency__code="POLSONGKHRAM", fiscal_year__year=2568).pk,
    "staff": {
        "agencies": staff_codes,
        "assessments": list(
            Assessment.objects.filter(agency__code__in=staff_codes, fiscal_year__year=2568).values_list("pk", flat=True)
        ),
        "plans": list(Plan.objects.filter(agency__code__in=staff_codes).values_list("pk", flat=True)),
    },
    "province": {
        "agencies": codes[::max(1, len(codes) // 60)],
        "compare_pages": [1, 2, 3],
    },
}
with open(os.environ["LOAD_TARGETS"], "w", encoding="utf-8") as f:
    json.dump(targets, f, ensure_ascii=False, indent=1)
print(f"agencies: {Agency.objects.count():,}; assessments: {Assessment.objects.count():,}; "
      f"นครราชสีมา: {len(codes)} generated agencies; plans of the staff agencies: {len(targets['staff']['plans'])}")
EOF

log "gunicorn: 2 workers on $HOST"
"$REPO_ROOT/.venv/bin/gunicorn" ita_portal.wsgi --bind "127.0.0.1:$APP_PORT" --workers 2 --timeout 120 \
    --access-logfile "$WORK/gunicorn-access.log" --access-logformat '%(t)s "%(r)s" %(s)s %(B)s %(M)sms' \
    --error-logfile "$WORK/gunicorn-error.log" &
GUNICORN_PID=$!
for _ in $(seq 1 60); do
    if "$PY" -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('$HOST/healthz', timeout=5).status != 200)" 2>/dev/null; then
        break
    fi
    kill -0 "$GUNICORN_PID" 2>/dev/null || { tail -n 30 "$WORK/gunicorn-error.log" >&2; exit 1; }
    sleep 1
done

log "Warm-up: each measured PDF rendered on both workers"
"$LOAD_VENV/bin/python" "$REPO_ROOT/scripts/load/locustfile.py" warm "$HOST"

: > "$LOAD_CPU_LOG"  # only the measured requests: not the warm-up
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "Locust: $USERS users (spawn $SPAWN_RATE/s) for $RUN_TIME against $HOST; load average $LOAD_BEFORE on $(nproc) cores"
"$LOAD_VENV/bin/locust" -f "$REPO_ROOT/scripts/load/locustfile.py" --headless --host "$HOST" \
    --run-time "$RUN_TIME" -u "$USERS" -r "$SPAWN_RATE" --csv "$RESULTS/locust" --only-summary \
    --exit-code-on-error 0 --loglevel WARNING &
LOCUST_PID=$!
"$LOAD_VENV/bin/python" "$REPO_ROOT/scripts/load/cpu_monitor.py" "$LOCUST_PID" "$GUNICORN_PID" \
    "$(head -n 1 "$PG_DIR/data/postmaster.pid")" > "$WORK/cpu.txt" &
MONITOR_PID=$!
wait "$LOCUST_PID"
wait "$MONITOR_PID" || true

log "Results ($(nproc) cores; load average before the run: $LOAD_BEFORE; now: $(cut -d' ' -f1-3 /proc/loadavg); CSV and logs in $RESULTS)"
cp "$LOAD_TIMINGS" "$RESULTS/timings.tsv" 2>/dev/null || true
set +e
LOAD_AVERAGE_BEFORE=$LOAD_BEFORE "$PY" "$REPO_ROOT/scripts/load/summary.py" "$LOAD_TIMINGS" "$LOAD_CPU_LOG"
status=$?
cat "$WORK/cpu.txt" 2>/dev/null || true
set -e
exit "$status"
