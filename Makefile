# The two commands of the README: `make run` and `make test` (and `make bench`, its Performance section).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# SKIP_SYSTEM=1 skips the Debian package check (e.g. on a machine that is not Debian).
SKIP_SYSTEM ?= 0

.PHONY: system run test demo lint bench

# Every Debian package the portal and its tests need (scripts/system_packages.sh): installs
# what is missing when run as root or with password-less sudo; otherwise it prints the exact
# command to run and stops here. Quick (one dpkg-query) when everything is present.
system:
ifneq ($(SKIP_SYSTEM),1)
	@bash scripts/system_packages.sh
endif

$(VENV)/.installed: requirements.txt | system
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

demo: system $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setup_demo

run: demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: system $(VENV)/.installed
	$(PY) -m pytest $(PYTEST_ARGS)

# The benchmarks of the README's Performance section, one after the other: each script builds its
# own database (BENCH_FLAGS, default --postgres: a throwaway PostgreSQL server per script, stopped
# at its end), prints the machine, each figure, its goal and met / NOT met; the run goes on after a
# missed goal and fails at the end, naming the scripts whose goals were missed (their own exit
# status 3) and any that failed. Each script's output is kept in test-artifacts/bench/, and every
# figure with its goal in one Markdown table for the README (summary.md). BENCH_SIZE=small runs
# small sizes in a few minutes (to check the scripts work, not figures to publish); the national
# sizes take some 15–30 minutes. BENCH_FLAGS go to the scripts built on scripts/benchlib.py (e.g.
# BENCH_FLAGS="--postgres --markdown"; bench_import and bench_pages take only --postgres); the load test
# always starts its own PostgreSQL.
BENCH_SIZE ?= national
BENCH_FLAGS ?= --postgres
ifeq ($(BENCH_SIZE),small)
BENCH_IMPORT_ARGS := --agencies 300
BENCH_COMPARE_ARGS := --agencies 300 --years 2567-2568
BENCH_BULK_ARGS := 4 analysis
BENCH_PAGES_ARGS := --agencies 300
BENCH_LOAD_ENV := LOAD_AGENCIES=300 LOAD_YEARS=2567-2568 LOAD_USERS=10 LOAD_SPAWN_RATE=5 LOAD_RUN_TIME=30s
else
BENCH_BULK_ARGS := 20 analysis
endif

bench: SHELL := /bin/bash
bench: system $(VENV)/.installed
	@mkdir -p test-artifacts/bench; failed=(); missed=(); \
	export BENCH_RESULTS=$(CURDIR)/test-artifacts/bench/results.jsonl; rm -f "$$BENCH_RESULTS"; \
	run() { \
		local name=$$1 rc; shift; printf '\n==> %s\n' "$$*"; \
		"$$@" 2>&1 | tee "test-artifacts/bench/$$name.txt"; rc=$${PIPESTATUS[0]}; \
		if ((rc == 3)); then missed+=("$$name"); elif ((rc)); then failed+=("$$name (exit $$rc)"); fi; \
	}; \
	flags() { if grep -q '^import benchlib' "scripts/$$1.py"; then echo $(BENCH_FLAGS); \
		elif [[ " $(BENCH_FLAGS) " == *" --postgres "* ]] && grep -q '"--postgres"' "scripts/$$1.py"; then echo --postgres; fi; }; \
	run pdf $(PY) scripts/bench_pdf.py $$(flags bench_pdf); \
	run import $(PY) scripts/bench_import.py $(BENCH_IMPORT_ARGS) $$(flags bench_import); \
	run compare $(PY) scripts/bench_compare.py $(BENCH_COMPARE_ARGS) $$(flags bench_compare); \
	if [[ -f scripts/bench_pages.py ]]; then run pages $(PY) scripts/bench_pages.py $(BENCH_PAGES_ARGS) $$(flags bench_pages); fi; \
	run bulk $(PY) scripts/bench_bulk.py $(BENCH_BULK_ARGS) $$(flags bench_bulk); \
	run load env $(BENCH_LOAD_ENV) scripts/load/run_load_test.sh; \
	printf '\n==> make bench (%s sizes): outputs in test-artifacts/bench/, this table in summary.md\n\n' "$(BENCH_SIZE)"; \
	$(PY) scripts/benchlib.py summary "$$BENCH_RESULTS" | tee test-artifacts/bench/summary.md; echo; \
	if (($${#failed[@]})); then echo "FAILED: $${failed[*]}"; fi; \
	if (($${#missed[@]})); then echo "goals NOT met in: $${missed[*]}"; fi; \
	if (($${#failed[@]})); then exit 1; elif (($${#missed[@]})); then exit 3; fi; echo "every goal met"
