"""A person record belongs to one project (issue #12).

Until now one ``Person`` row was shared by every project that enrolled the same ID number, so
an officer who enrolled a number they knew was linked to, and could reveal, the data another
project held. From here on a person is one project's record. This migration splits every
shared person: the project of its earliest enrolment keeps the row, and each further
enrolment gets its own copy (the same encrypted tokens, copied in SQL, never decrypted), so no
enrolment points at a record another project also uses. A person with no enrolment keeps an
empty project, which no case officer's scope matches.
"""

from django.db import migrations, models

PROJECTS = [
    ("yuxin", "New education (at-risk youth)"),
    ("yulu", "Rain and dew (left-behind children)"),
    ("yangguang", "Sunshine (drug users)"),
    ("huigui", "Return (released prisoners)"),
    ("anning", "Peace (mental disorders)"),
    ("hongsidai", "Red ribbon (HIV/AIDS)"),
]

SPLIT_SQL = """
INSERT INTO special_groups_person
    (project, name, id_number, id_number_hash, phone, address, region_id, is_demo, created_at)
SELECT %s, name, id_number, id_number_hash, phone, address, region_id, is_demo, created_at
FROM special_groups_person WHERE id = %s
RETURNING id
"""


def split_shared_persons(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE special_groups_person p SET project = first.project
            FROM (
                SELECT DISTINCT ON (person_id) person_id, project
                FROM special_groups_enrollment ORDER BY person_id, enrolled_on, id
            ) first
            WHERE first.person_id = p.id
            """
        )
        cursor.execute(
            """
            SELECT e.id, e.project, e.person_id FROM special_groups_enrollment e
            JOIN special_groups_person p ON p.id = e.person_id
            WHERE e.project <> p.project ORDER BY e.id
            """
        )
        for enrollment_id, project, person_id in cursor.fetchall():
            cursor.execute(SPLIT_SQL, [project, person_id])
            (copy_id,) = cursor.fetchone()
            cursor.execute(
                "UPDATE special_groups_enrollment SET person_id = %s WHERE id = %s", [copy_id, enrollment_id]
            )


class Migration(migrations.Migration):
    dependencies = [
        ("special_groups", "0003_historicalenrollment_historicalperson"),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="project",
            field=models.CharField(
                choices=PROJECTS, default="", max_length=16, verbose_name="project"
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalperson",
            name="project",
            field=models.CharField(
                choices=PROJECTS, default="", max_length=16, verbose_name="project"
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="person",
            name="id_number_hash",
            field=models.CharField(
                db_index=True, editable=False, max_length=64, verbose_name="ID number lookup hash"
            ),
        ),
        migrations.RunPython(split_shared_persons, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="person",
            index=models.Index(fields=["project", "id_number_hash"], name="person_project_id_hash"),
        ),
        migrations.AlterField(
            model_name="accessrecord",
            name="action",
            field=models.CharField(
                choices=[
                    ("enrol", "Enrolled (officer's own data)"),
                    ("view", "Viewed record (masked)"),
                    ("reveal", "Viewed full personal data"),
                    ("export", "Exported"),
                ],
                max_length=8,
                verbose_name="action",
            ),
        ),
    ]
