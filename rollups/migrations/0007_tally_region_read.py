"""A covering index for the dashboards' reads of one region's tallies (issue #14).

Built CONCURRENTLY: on a running platform the fold keeps writing to the table while it is made."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("rollups", "0006_project_dimensions"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="tally",
            index=models.Index(
                fields=["region", "measure", "bucket"],
                include=["dim_a", "dim_b", "dim_c", "n", "amount"],
                name="rollups_tally_region_read",
            ),
        ),
    ]
