from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("special_groups", "0004_person_belongs_to_one_project"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(
                condition=models.Q(("done_on__isnull", True), ("kind", "visit")),
                fields=["enrollment"],
                name="casetask_open_visit",
            ),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(
                condition=models.Q(("done_on__isnull", True), ("overdue_since__isnull", True)),
                fields=["due_on"],
                name="casetask_open_unflagged",
            ),
        ),
    ]
