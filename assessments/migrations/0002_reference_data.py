"""Load the reference frameworks (FY2563–FY2568) and level schemes, so that
`migrate` alone leaves a database that can score."""

from pathlib import Path

from django.core import serializers
from django.db import migrations

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def load(apps, schema_editor):
    # The fixtures use natural keys; resolve them against the historical models
    # of this migration, not the current ones, so later schema changes keep working.
    from django.core.serializers import python

    original = python.Deserializer._get_model_from_node
    python.Deserializer._get_model_from_node = staticmethod(apps.get_model)
    try:
        for name in ("frameworks.json", "levels.json"):
            with open(FIXTURES / name, encoding="utf-8") as fh:
                for obj in serializers.deserialize("json", fh, using=schema_editor.connection.alias):
                    obj.save(using=schema_editor.connection.alias)
    finally:
        python.Deserializer._get_model_from_node = original


def unload(apps, schema_editor):
    apps.get_model("assessments", "FiscalYear").objects.filter(year__range=(2563, 2568)).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
