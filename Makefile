# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# SKIP_SYSTEM=1 skips the Debian package check (e.g. on a machine that is not Debian).
SKIP_SYSTEM ?= 0

.PHONY: system run test demo lint

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
