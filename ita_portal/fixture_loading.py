"""Load reference fixtures from a data migration, against the migration's historical models."""

from pathlib import Path

from django.core import serializers
from django.core.serializers import python

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def load_fixtures(apps, schema_editor, names):
    # The fixtures use natural keys; resolving them against the historical models
    # (whose managers set use_in_migrations) keeps old migrations working after
    # later schema changes.
    original = python.Deserializer.__dict__["_get_model_from_node"]
    python.Deserializer._get_model_from_node = staticmethod(apps.get_model)
    try:
        for name in names:
            with open(FIXTURES / name, encoding="utf-8") as fh:
                for obj in serializers.deserialize("json", fh, using=schema_editor.connection.alias):
                    obj.save(using=schema_editor.connection.alias)
    finally:
        python.Deserializer._get_model_from_node = original
