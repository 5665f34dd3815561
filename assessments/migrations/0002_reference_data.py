"""Load the reference frameworks (FY2563–FY2568) and level schemes, so that
`migrate` alone leaves a database that can score."""

from django.db import migrations

from ita_portal.fixture_loading import load_fixtures


def load(apps, schema_editor):
    load_fixtures(apps, schema_editor, ["frameworks.json", "levels.json"])


def unload(apps, schema_editor):
    apps.get_model("assessments", "FiscalYear").objects.filter(year__range=(2563, 2568)).delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
