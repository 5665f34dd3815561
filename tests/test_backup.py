"""Backup and restore round trip: after dumping, losing and restoring the database, every
assessment summarises exactly as before. Runs on SQLite and on PostgreSQL (CI runs the suite
against both); the pg_dump / pg_restore variant only where the suite runs on PostgreSQL."""

import io
import json
import os
import shutil
import subprocess

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from assessments.models import Agency, Assessment
from plans.services import plan_draft_from_assessment
from tests.conftest import make_assessment

# What a JSON backup leaves out: rebuilt by migrate (content types, permissions), throwaway
# (sessions, admin log, login attempts) and the history tables, which grow without bound
# (the pg_dump backup keeps them).
EXCLUDED = ["contenttypes", "auth.permission", "admin.logentry", "sessions", "axes"]

# The data of migrated apps is reloaded at the start of each of these tests and the
# database emptied after it, so the tests that follow still find the reference data.
round_trip = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def historical_models():
    return [m._meta.label for m in apps.get_models() if hasattr(m, "instance_type")]


@pytest.fixture
def data(seed_assessment, other_assessment, owner, library):
    agency = Agency.objects.create(code="C001", name="เทศบาลตำบลทดสอบ", agency_type=Agency.Type.SUBDISTRICT_MUNICIPALITY)
    make_assessment(agency, 2567, {("overall", ""): "85.42"})  # only an overall, as older years often are
    plan_draft_from_assessment(assessment=seed_assessment, user=owner)


def summaries():
    """`assessment_summary` of every assessment, as the command prints it."""
    printed = {}
    for code, year in Assessment.objects.values_list("agency__code", "fiscal_year__year").order_by("pk"):
        out = io.StringIO()
        call_command("assessment_summary", code, str(year), stdout=out)
        printed[code, year] = json.loads(out.getvalue())
    return printed


def row_counts():
    return {
        m._meta.label: m._default_manager.count()
        for label in ("assessments", "plans")
        for m in apps.get_app_config(label).get_models()
        if not hasattr(m, "instance_type")
    }


@round_trip
def test_it_restores_every_summary_from_a_dumpdata_backup(data, tmp_path):
    before, counts = summaries(), row_counts()
    assert len(before) == 3
    backup = tmp_path / "backup.json"
    call_command(
        "dumpdata", "--natural-foreign", "--natural-primary", exclude=EXCLUDED + historical_models(),
        output=str(backup), verbosity=0,
    )
    call_command("flush", interactive=False, verbosity=0)
    assert not Assessment.objects.exists()
    call_command("loaddata", str(backup), verbosity=0)
    assert summaries() == before
    assert row_counts() == counts


def pg_tools_available():
    return connection.vendor == "postgresql" and shutil.which("pg_dump") and shutil.which("pg_restore")


def pg_args():
    database = connection.settings_dict
    args = ["--dbname", database["NAME"]]
    for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            args += [flag, str(database[key])]
    return args, {**os.environ, "PGPASSWORD": database.get("PASSWORD") or ""}


@round_trip
def test_it_restores_every_summary_from_a_pg_dump_backup(data, tmp_path):
    if not pg_tools_available():
        pytest.skip("needs the suite on PostgreSQL and pg_dump / pg_restore on PATH")
    before, counts = summaries(), row_counts()
    backup = tmp_path / "backup.dump"
    args, env = pg_args()
    subprocess.run(["pg_dump", "--format=custom", "--file", str(backup), *args], env=env, check=True)
    call_command("flush", interactive=False, verbosity=0)
    assert not Assessment.objects.exists()
    connection.close()  # pg_restore --clean drops the tables: hold no session on them
    subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", *args, str(backup)], env=env, check=True)
    assert summaries() == before
    assert row_counts() == counts
