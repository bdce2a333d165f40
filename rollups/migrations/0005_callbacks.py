"""回访 (callbacks) count in the per-case satisfaction (``incidents.callback`` in rollups.sources):
a callback written, changed or removed queues its incident, whose entries the fold recomputes."""

from django.db import migrations

TRIGGERS = """
CREATE TRIGGER rollups_added AFTER INSERT ON incidents_incidentcallback REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_queue('incident', 'incident_id');
CREATE TRIGGER rollups_changed AFTER UPDATE ON incidents_incidentcallback
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_queue('incident', 'incident_id');
CREATE TRIGGER rollups_removed AFTER DELETE ON incidents_incidentcallback REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION rollups_queue('incident', 'incident_id');
"""

DROP_TRIGGERS = """
DROP TRIGGER rollups_added ON incidents_incidentcallback;
DROP TRIGGER rollups_changed ON incidents_incidentcallback;
DROP TRIGGER rollups_removed ON incidents_incidentcallback;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0004_tally_merge_indexes"),
        ("incidents", "0015_notifications"),
    ]

    operations = [migrations.RunSQL(TRIGGERS, DROP_TRIGGERS)]
