"""Load the wording of the analysis report (fixtures/analysis_phrases.json), so that `migrate`
alone leaves a database whose analysis paragraphs name what each weak question points to."""

from django.db import migrations

from ita_portal.fixture_loading import load_fixtures


def load(apps, schema_editor):
    load_fixtures(apps, schema_editor, ["analysis_phrases.json"])


def unload(apps, schema_editor):
    apps.get_model("assessments", "AnalysisPhrase").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("assessments", "0007_analysis_phrase")]
    operations = [migrations.RunPython(load, unload)]
