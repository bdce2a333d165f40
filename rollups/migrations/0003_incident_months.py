"""Incidents by month (``incidents.reported`` and ``incidents.closed``, rollups.sources): every
existing incident is queued once, so the next fold adds its months to the tallies (the existing
triggers queue every later change)."""

from django.db import migrations

QUEUE = """
INSERT INTO rollups_pending (source, source_id)
SELECT 'incident', id FROM incidents_incident WHERE deleted_at IS NULL
"""

DROP = """
DELETE FROM rollups_tally WHERE measure IN ('incidents.reported', 'incidents.closed');
DELETE FROM rollups_entry WHERE measure IN ('incidents.reported', 'incidents.closed');
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0002_people_counts"),
        ("incidents", "0010_open_reported_index"),
    ]

    operations = [migrations.RunSQL(QUEUE, DROP)]
