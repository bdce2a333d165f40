# The incident ↔ grid office links become an explicit model (``IncidentOffice``) over the same
# table, carrying the incident's ``reported_at`` and whether it is live (not soft-deleted), so a
# grid office's list is read newest first from the ``incidents_office_listed`` index instead of
# sorting every incident the office ever saw (issue #14/#19: a grid worker's scoped list).
#
# The table and its rows stay where they are (SeparateDatabaseAndState): the database gains two
# columns, filled from the incidents, and two triggers that keep them exact for every writer:
#
# - a link row takes the incident's values whenever it is inserted (or its incident or copies are
#   written by hand): services, bulk sync's raw INSERT, the grid import's moves, loaders, psql;
# - a change of an incident's reported_at, or of whether it is deleted, is copied to its links in
#   the same statement, whoever makes it (services, QuerySet.update, the admin, raw SQL).

import django.db.models.deletion
from django.db import migrations, models

LINK_SQL = """
ALTER TABLE incidents_incident_offices
    ADD COLUMN reported_at timestamp with time zone,
    ADD COLUMN live boolean NOT NULL DEFAULT true;
UPDATE incidents_incident_offices o
    SET reported_at = i.reported_at, live = i.deleted_at IS NULL
    FROM incidents_incident i WHERE i.id = o.incident_id;
ALTER TABLE incidents_incident_offices
    ALTER COLUMN reported_at SET NOT NULL,
    ALTER COLUMN live DROP DEFAULT;

CREATE FUNCTION incidents_office_link_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT i.reported_at, i.deleted_at IS NULL INTO NEW.reported_at, NEW.live
    FROM incidents_incident i WHERE i.id = NEW.incident_id;
    RETURN NEW;
END $$;

CREATE TRIGGER incidents_office_link_copy
    BEFORE INSERT OR UPDATE OF incident_id, reported_at, live ON incidents_incident_offices
    FOR EACH ROW EXECUTE FUNCTION incidents_office_link_copy();

CREATE FUNCTION incidents_office_links_follow() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

UNLINK_SQL = """
DROP TRIGGER incidents_office_links_follow ON incidents_incident;
DROP FUNCTION incidents_office_links_follow();
DROP TRIGGER incidents_office_link_copy ON incidents_incident_offices;
DROP FUNCTION incidents_office_link_copy();
ALTER TABLE incidents_incident_offices DROP COLUMN reported_at, DROP COLUMN live;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("grids", "0002_import_moves_and_attempts"),
        ("incidents", "0010_open_reported_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(LINK_SQL, UNLINK_SQL)],
            state_operations=[
                migrations.CreateModel(
                    name="IncidentOffice",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("reported_at", models.DateTimeField(editable=False)),
                        ("live", models.BooleanField(default=True, editable=False)),
                        (
                            "incident",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="office_links",
                                to="incidents.incident",
                            ),
                        ),
                        (
                            "gridoffice",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="incident_links",
                                to="grids.gridoffice",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "incidents_incident_offices",
                        "unique_together": {("incident", "gridoffice")},
                    },
                ),
                migrations.AlterField(
                    model_name="incident",
                    name="offices",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="involved_incidents",
                        through="incidents.IncidentOffice",
                        to="grids.gridoffice",
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="incidentoffice",
            index=models.Index(
                condition=models.Q(("live", True)),
                fields=["gridoffice", "-reported_at", "-incident"],
                name="incidents_office_listed",
            ),
        ),
    ]
