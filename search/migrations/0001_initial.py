"""The search index's documents and queue, and the triggers that fill the queue."""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models


# Every door that writes a searched field queues the record, in the writer's own transaction:
# services, raw bulk inserts, the admin, loaders, psql (search.models). Statement-level, so a bulk
# write of many rows costs one INSERT ... SELECT; updates queue only rows whose searched fields
# changed (a status change or a version bump queues nothing).
TRIGGERS = """
CREATE FUNCTION search_queue_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_pendingdocument (kind, object_id) SELECT TG_ARGV[0], id FROM added;
    RETURN NULL;
END $$;
CREATE FUNCTION search_queue_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_pendingdocument (kind, object_id) SELECT TG_ARGV[0], id FROM removed;
    RETURN NULL;
END $$;

CREATE FUNCTION search_queue_incident_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_pendingdocument (kind, object_id)
    SELECT 'incident', a.id FROM added a JOIN removed r ON r.id = a.id
    WHERE (a.description, a.address, a.category_id) IS DISTINCT FROM (r.description, r.address, r.category_id);
    RETURN NULL;
END $$;
CREATE FUNCTION search_queue_case_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_pendingdocument (kind, object_id)
    SELECT 'case', a.id FROM added a JOIN removed r ON r.id = a.id
    WHERE (a.dispute_type, a.summary, a.outcome_note) IS DISTINCT FROM (r.dispute_type, r.summary, r.outcome_note);
    RETURN NULL;
END $$;
CREATE FUNCTION search_queue_cell_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_pendingdocument (kind, object_id)
    SELECT 'cell', a.id FROM added a JOIN removed r ON r.id = a.id
    WHERE (a.name, a.address, a.cell_type_id) IS DISTINCT FROM (r.name, r.address, r.cell_type_id);
    RETURN NULL;
END $$;
-- A party's name is part of its case's document.
CREATE FUNCTION search_queue_party() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO search_pendingdocument (kind, object_id) SELECT DISTINCT 'case', case_id FROM added;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO search_pendingdocument (kind, object_id) SELECT DISTINCT 'case', case_id FROM removed;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER search_added AFTER INSERT ON incidents_incident REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_added('incident');
CREATE TRIGGER search_changed AFTER UPDATE ON incidents_incident REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_incident_changed();
CREATE TRIGGER search_removed AFTER DELETE ON incidents_incident REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_removed('incident');

CREATE TRIGGER search_added AFTER INSERT ON mediation_mediationcase REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_added('case');
CREATE TRIGGER search_changed AFTER UPDATE ON mediation_mediationcase REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_case_changed();
CREATE TRIGGER search_removed AFTER DELETE ON mediation_mediationcase REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_removed('case');

CREATE TRIGGER search_added AFTER INSERT ON mediation_party REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_party();
CREATE TRIGGER search_changed AFTER UPDATE ON mediation_party REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_party();
CREATE TRIGGER search_removed AFTER DELETE ON mediation_party REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_party();

CREATE TRIGGER search_added AFTER INSERT ON safety_cells_safetycell REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_added('cell');
CREATE TRIGGER search_changed AFTER UPDATE ON safety_cells_safetycell REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_cell_changed();
CREATE TRIGGER search_removed AFTER DELETE ON safety_cells_safetycell REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION search_queue_removed('cell');
"""

DROP_TRIGGERS = """
DROP TRIGGER search_added ON incidents_incident; DROP TRIGGER search_changed ON incidents_incident;
DROP TRIGGER search_removed ON incidents_incident;
DROP TRIGGER search_added ON mediation_mediationcase; DROP TRIGGER search_changed ON mediation_mediationcase;
DROP TRIGGER search_removed ON mediation_mediationcase;
DROP TRIGGER search_added ON mediation_party; DROP TRIGGER search_changed ON mediation_party;
DROP TRIGGER search_removed ON mediation_party;
DROP TRIGGER search_added ON safety_cells_safetycell; DROP TRIGGER search_changed ON safety_cells_safetycell;
DROP TRIGGER search_removed ON safety_cells_safetycell;
DROP FUNCTION search_queue_party(); DROP FUNCTION search_queue_cell_changed();
DROP FUNCTION search_queue_case_changed(); DROP FUNCTION search_queue_incident_changed();
DROP FUNCTION search_queue_removed(); DROP FUNCTION search_queue_added();
"""


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('incidents', '0012_units'),
        ('mediation', '0006_drop_stand_in_parties'),
        ('safety_cells', '0006_coverage_tables'),
    ]

    operations = [
        migrations.CreateModel(
            name='PendingDocument',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('incident', 'Incidents'), ('case', 'Mediation cases'), ('cell', 'Safe cells')], max_length=8)),
                ('object_id', models.BigIntegerField()),
            ],
            options={
                'verbose_name': 'record waiting to be indexed',
                'verbose_name_plural': 'records waiting to be indexed',
            },
        ),
        migrations.CreateModel(
            name='CaseDocument',
            fields=[
                ('vector', django.contrib.postgres.search.SearchVectorField()),
                ('indexed_at', models.DateTimeField(auto_now=True)),
                ('case', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_document', serialize=False, to='mediation.mediationcase')),
            ],
            options={
                'verbose_name': 'mediation case search document',
                'verbose_name_plural': 'mediation case search documents',
                'indexes': [django.contrib.postgres.indexes.GinIndex(fields=['vector'], name='search_case_vector')],
            },
        ),
        migrations.CreateModel(
            name='CellDocument',
            fields=[
                ('vector', django.contrib.postgres.search.SearchVectorField()),
                ('indexed_at', models.DateTimeField(auto_now=True)),
                ('cell', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_document', serialize=False, to='safety_cells.safetycell')),
            ],
            options={
                'verbose_name': 'safe-cell search document',
                'verbose_name_plural': 'safe-cell search documents',
                'indexes': [django.contrib.postgres.indexes.GinIndex(fields=['vector'], name='search_cell_vector')],
            },
        ),
        migrations.CreateModel(
            name='IncidentDocument',
            fields=[
                ('vector', django.contrib.postgres.search.SearchVectorField()),
                ('indexed_at', models.DateTimeField(auto_now=True)),
                ('incident', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='search_document', serialize=False, to='incidents.incident')),
            ],
            options={
                'verbose_name': 'incident search document',
                'verbose_name_plural': 'incident search documents',
                'indexes': [django.contrib.postgres.indexes.GinIndex(fields=['vector'], name='search_incident_vector')],
            },
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
