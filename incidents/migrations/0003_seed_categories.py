"""Seed the default incident categories (see incidents/categories.py)."""

from django.db import migrations


def seed(apps, schema_editor):
    from incidents.categories import seed_categories

    seed_categories(apps.get_model("incidents", "IncidentCategory"), apps.get_model("incidents", "CategoryTimeLimit"))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0002_workflow")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
