"""Load the measure library, so that plans can be drafted right after `migrate`."""

from django.db import migrations

from ita_portal.fixture_loading import load_fixtures


def load(apps, schema_editor):
    load_fixtures(apps, schema_editor, ["measure_library.json"])


def unload(apps, schema_editor):
    apps.get_model("plans", "MeasureTemplate").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
