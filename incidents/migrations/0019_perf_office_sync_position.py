# A grid office's sync feed is read in its own position order (issue #14: a grid worker's first
# sync page at five-year volume). The feed walks positions (sync_txid, sync_seq) in order; for a
# grid office that walk went through the whole city's position index and kept the rows linked to
# the office (~1 in 400), so a first page read ~80,000 index entries at 3M incidents.
#
# The office's link rows (``IncidentOffice``) now carry their incident's position as well, kept
# exact by the link triggers of migration 0011 (extended here): a link takes the incident's
# position when it is inserted or written, and every change of the incident's position (every
# write: the position trigger of 0008 gives one per change) is copied to its links in the same
# statement. ``incidents_office_sync`` (office, txid, seq) then serves the office's feed in order.

from django.db import migrations, models

POSITION_SQL = """
ALTER TABLE incidents_incident_offices
    ADD COLUMN sync_txid bigint NOT NULL DEFAULT 0,
    ADD COLUMN sync_seq bigint NOT NULL DEFAULT 0;
UPDATE incidents_incident_offices o
    SET sync_txid = i.sync_txid, sync_seq = i.sync_seq
    FROM incidents_incident i WHERE i.id = o.incident_id;

CREATE OR REPLACE FUNCTION incidents_office_link_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT i.reported_at, i.deleted_at IS NULL, i.sync_txid, i.sync_seq
    INTO NEW.reported_at, NEW.live, NEW.sync_txid, NEW.sync_seq
    FROM incidents_incident i WHERE i.id = NEW.incident_id;
    RETURN NEW;
END $$;

DROP TRIGGER incidents_office_link_copy ON incidents_incident_offices;
CREATE TRIGGER incidents_office_link_copy
    BEFORE INSERT OR UPDATE OF incident_id, reported_at, live, sync_txid, sync_seq
    ON incidents_incident_offices
    FOR EACH ROW EXECUTE FUNCTION incidents_office_link_copy();

CREATE OR REPLACE FUNCTION incidents_office_links_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents_incident_offices
    SET reported_at = NEW.reported_at, live = NEW.deleted_at IS NULL,
        sync_txid = NEW.sync_txid, sync_seq = NEW.sync_seq
    WHERE incident_id = NEW.id;
    RETURN NULL;
END $$;

-- Every write of an incident moves its position (set by BEFORE triggers, so not in the
-- statement's SET list): the trigger fires on any UPDATE and copies when something it keeps moved.
DROP TRIGGER incidents_office_links_follow ON incidents_incident;
CREATE TRIGGER incidents_office_links_follow
    AFTER UPDATE ON incidents_incident
    FOR EACH ROW WHEN (
        OLD.reported_at IS DISTINCT FROM NEW.reported_at
        OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
        OR OLD.sync_txid IS DISTINCT FROM NEW.sync_txid
        OR OLD.sync_seq IS DISTINCT FROM NEW.sync_seq
    )
    EXECUTE FUNCTION incidents_office_links_follow();
"""

UNPOSITION_SQL = """
DROP TRIGGER incidents_office_links_follow ON incidents_incident;
CREATE OR REPLACE FUNCTION incidents_office_links_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents_incident_offices
    SET reported_at = NEW.reported_at, live = NEW.deleted_at IS NULL
    WHERE incident_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER incidents_office_links_follow
    AFTER UPDATE OF reported_at, deleted_at ON incidents_incident
    FOR EACH ROW WHEN (
        OLD.reported_at IS DISTINCT FROM NEW.reported_at
        OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL)
    )
    EXECUTE FUNCTION incidents_office_links_follow();
DROP TRIGGER incidents_office_link_copy ON incidents_incident_offices;
CREATE OR REPLACE FUNCTION incidents_office_link_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT i.reported_at, i.deleted_at IS NULL INTO NEW.reported_at, NEW.live
    FROM incidents_incident i WHERE i.id = NEW.incident_id;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_office_link_copy
    BEFORE INSERT OR UPDATE OF incident_id, reported_at, live ON incidents_incident_offices
    FOR EACH ROW EXECUTE FUNCTION incidents_office_link_copy();
ALTER TABLE incidents_incident_offices DROP COLUMN sync_txid, DROP COLUMN sync_seq;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0018_perf_queue_overdue"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(POSITION_SQL, UNPOSITION_SQL)],
            state_operations=[
                migrations.AddField(
                    model_name="incidentoffice",
                    name="sync_txid",
                    field=models.BigIntegerField(default=0, editable=False),
                ),
                migrations.AddField(
                    model_name="incidentoffice",
                    name="sync_seq",
                    field=models.BigIntegerField(default=0, editable=False),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="incidentoffice",
            index=models.Index(fields=["gridoffice", "sync_txid", "sync_seq"], name="incidents_office_sync"),
        ),
    ]
