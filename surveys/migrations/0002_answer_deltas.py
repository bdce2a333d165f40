"""Incremental rollups count deltas: a queue of changes to the answer counts, filled by
triggers on ``surveys_answer``, replaces the per-community dirty marks."""

import django.db.models.deletion
from django.db import migrations, models

# Communities marked but not yet rolled up: queue the difference between their answers and
# their cells, which is exactly what the next run has to apply.
QUEUE_PENDING_MARKS = """
INSERT INTO surveys_answerdelta (wave_id, item_id, village_id, grid_office_id, month, choice, delta)
SELECT wave_id, item_id, village_id, grid_office_id, month, choice, sum(k)
FROM (
    SELECT a.wave_id, a.item_id, a.village_id, a.grid_office_id, a.month, a.choice, count(*) AS k
    FROM surveys_answer a
    JOIN surveys_dirtyvillage t ON t.wave_id = a.wave_id AND t.village_id = a.village_id
    GROUP BY 1, 2, 3, 4, 5, 6
    UNION ALL
    SELECT c.wave_id, c.item_id, c.village_id, c.grid_office_id, c.month, c.choice, -c.count
    FROM surveys_cell c
    JOIN surveys_dirtyvillage t ON t.wave_id = c.wave_id AND t.village_id = c.village_id
) d
GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(k) <> 0
"""

# One queue row per key and statement, from the statement's transition tables: a bulk
# insert of thousands of answers queues a few dozen rows.
TRIGGERS = """
CREATE FUNCTION surveys_answer_queue_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO surveys_answerdelta (wave_id, item_id, village_id, grid_office_id, month, choice, delta)
        SELECT wave_id, item_id, village_id, grid_office_id, month, choice, count(*)
        FROM added GROUP BY 1, 2, 3, 4, 5, 6;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO surveys_answerdelta (wave_id, item_id, village_id, grid_office_id, month, choice, delta)
        SELECT wave_id, item_id, village_id, grid_office_id, month, choice, -count(*)
        FROM removed GROUP BY 1, 2, 3, 4, 5, 6;
    ELSE
        INSERT INTO surveys_answerdelta (wave_id, item_id, village_id, grid_office_id, month, choice, delta)
        SELECT wave_id, item_id, village_id, grid_office_id, month, choice, sum(k)
        FROM (
            SELECT wave_id, item_id, village_id, grid_office_id, month, choice, 1 AS k FROM added
            UNION ALL
            SELECT wave_id, item_id, village_id, grid_office_id, month, choice, -1 FROM removed
        ) d
        GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(k) <> 0;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER surveys_answer_added AFTER INSERT ON surveys_answer
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION surveys_answer_queue_delta();
CREATE TRIGGER surveys_answer_changed AFTER UPDATE ON surveys_answer
    REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION surveys_answer_queue_delta();
CREATE TRIGGER surveys_answer_removed AFTER DELETE ON surveys_answer
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION surveys_answer_queue_delta();
"""

# An incremental run overwrites a few hundred metric rows and cells in place; with room left
# on each page the new versions stay on it and the indexes need no new entries (HOT updates).
ROOM_TO_UPDATE = """
ALTER TABLE surveys_regionmetric SET (fillfactor = 70);
ALTER TABLE surveys_cell SET (fillfactor = 70);
"""

NO_ROOM_TO_UPDATE = """
ALTER TABLE surveys_regionmetric RESET (fillfactor);
ALTER TABLE surveys_cell RESET (fillfactor);
"""

DROP_TRIGGERS = """
DROP TRIGGER surveys_answer_added ON surveys_answer;
DROP TRIGGER surveys_answer_changed ON surveys_answer;
DROP TRIGGER surveys_answer_removed ON surveys_answer;
DROP FUNCTION surveys_answer_queue_delta();
"""


class Migration(migrations.Migration):

    dependencies = [
        ('grids', '0001_initial'),
        ('surveys', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='AnswerDelta',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('choice', models.PositiveSmallIntegerField()),
                ('delta', models.IntegerField()),
            ],
        ),
        migrations.RemoveIndex(
            model_name='cell',
            name='surveys_cel_wave_id_3b4a7a_idx',
        ),
        migrations.RemoveIndex(
            model_name='cell',
            name='surveys_cel_wave_id_27b2d7_idx',
        ),
        migrations.AddConstraint(
            model_name='cell',
            constraint=models.UniqueConstraint(fields=('wave', 'village', 'item', 'grid_office', 'month', 'choice'), name='surveys_cell_unique', nulls_distinct=False),
        ),
        migrations.AddField(
            model_name='answerdelta',
            name='grid_office',
            field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='grids.gridoffice'),
        ),
        migrations.AddField(
            model_name='answerdelta',
            name='item',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='surveys.item'),
        ),
        migrations.AddField(
            model_name='answerdelta',
            name='village',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='grids.region'),
        ),
        migrations.AddField(
            model_name='answerdelta',
            name='wave',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='surveys.wave'),
        ),
        migrations.RunSQL(QUEUE_PENDING_MARKS, migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
        migrations.RunSQL(ROOM_TO_UPDATE, NO_ROOM_TO_UPDATE),
        migrations.RemoveField(
            model_name='dirtyvillage',
            name='village',
        ),
        migrations.RemoveField(
            model_name='dirtyvillage',
            name='wave',
        ),
        migrations.DeleteModel(
            name='DirtyVillage',
        ),
    ]
