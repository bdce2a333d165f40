# The dispatcher's queue walks open incidents by age (incidents.selectors.queue_parts).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0009_escalation_queue_and_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(
                condition=models.Q(
                    ("deleted_at__isnull", True),
                    (
                        "status__in",
                        [
                            "reported",
                            "registered",
                            "dispatched",
                            "handling",
                            "handled",
                            "verified",
                            "returned",
                        ],
                    ),
                ),
                fields=["reported_at", "id"],
                name="incidents_open_reported",
            ),
        ),
    ]
