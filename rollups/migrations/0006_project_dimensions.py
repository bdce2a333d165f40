"""The projects' figures carry their project (``sg.visit`` in ``dim_c``, the new
``people.enrolled`` in ``dim_b``, ``sg.checkin`` for 社区矫正's check-ins): the monthly index covers
the new measures, and every enrolment and case task is queued once so the next fold rewrites
their ledger rows in the new shape (the figures equal the recount again after that fold)."""

from django.db import migrations, models

REQUEUE = """
INSERT INTO rollups_pending (source, source_id) SELECT 'enrollment', id FROM special_groups_enrollment;
INSERT INTO rollups_pending (source, source_id) SELECT 'case_task', id FROM special_groups_casetask;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rollups", "0005_callbacks"),
        ("special_groups", "0006_facility_investment_area"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="tally", name="rollups_tally_monthly"),
        migrations.AddIndex(
            model_name="tally",
            index=models.Index(
                condition=models.Q(
                    (
                        "measure__in",
                        [
                            "sg.visit",
                            "sg.subsidy",
                            "people.released",
                            "people.picked",
                            "people.patients",
                            "people.guarded",
                            "people.students",
                            "people.payees",
                            "people.enrolled",
                            "sg.checkin",
                        ],
                    )
                ),
                fields=["bucket"],
                name="rollups_tally_monthly",
            ),
        ),
        migrations.RunSQL(REQUEUE, migrations.RunSQL.noop),
    ]
