# The dispatcher's queue opens on its overdue part (incidents.selectors.queue_parts): incidents
# dispatched or being handled whose deadline has passed, oldest first. At five years' volume the
# planner read that part through (status, due_at) -- every overdue incident of the city, ~51k rows,
# then sorted -- because it multiplies the queue's open-status filter by the part's own status
# filter and expects a few hundred rows. This index holds only the clocked rows, in the part's
# order, with what the part filters on (due_at) and joins on (grid_id): the first page is a walk of
# a page's worth of entries, whatever the estimate (EXPLAIN in tests/incidents/test_index_plans.py).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0017_merged_notification"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("status__in", ["dispatched", "handling"])),
                fields=["reported_at", "id"],
                include=("due_at", "grid"),
                name="incidents_clocked_reported",
            ),
        ),
    ]
