"""签收: the lead unit takes a dispatched case within one working hour (DOMAIN.md's published
practice). ``take_due_at`` is stored at 派遣; the intake queue's trigger function keeps
``intake_alert_at`` for dispatched cases too, so the same alert job tells the township centre and
the unit once when the hour passes. The function is 0020's text with the dispatched status and its
limit added (``CREATE OR REPLACE``; the trigger that calls it stays as it is)."""

from importlib import import_module

from django.db import migrations, models

_PREVIOUS = import_module("incidents.migrations.0020_returned_dispatch_limit")
CURRENT = _PREVIOUS._FUNCTION.replace(_PREVIOUS.BEFORE, _PREVIOUS.AFTER)
EDITS = [
    (
        "('reported', 'registered', 'returned')",
        "('reported', 'registered', 'returned', 'dispatched')",
    ),
    (
        "WHEN 'reported' THEN COALESCE(NEW.register_due_at, NEW.reported_at + interval '1 hour')",
        "WHEN 'reported' THEN COALESCE(NEW.register_due_at, NEW.reported_at + interval '1 hour')\n"
        "                WHEN 'dispatched' THEN COALESCE(NEW.take_due_at, now() + interval '1 hour')",
    ),
    (
        "OR NEW.dispatch_due_at IS DISTINCT FROM OLD.dispatch_due_at)",
        "OR NEW.dispatch_due_at IS DISTINCT FROM OLD.dispatch_due_at\n"
        "            OR NEW.take_due_at IS DISTINCT FROM OLD.take_due_at)",
    ),
]
WIDENED = CURRENT
for before, after in EDITS:
    assert before in WIDENED  # noqa: S101 - built on 0020's text, it must find what it widens
    WIDENED = WIDENED.replace(before, after)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0020_returned_dispatch_limit"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalincident",
            name="take_due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="take by"),
        ),
        migrations.AddField(
            model_name="incident",
            name="take_due_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="take by"),
        ),
        migrations.AlterField(
            model_name="notification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("legacy", "Earlier message"),
                    ("dispatched", "Dispatched to your unit"),
                    ("referred", "Referred to your unit"),
                    ("returned", "Returned by the unit"),
                    ("sent_back", "Sent back after verification"),
                    ("callback_reopened", "Reopened after callback"),
                    ("awaiting_verify", "Awaiting verification"),
                    ("verified", "Verified, to close"),
                    ("rejected", "Not registered"),
                    ("voided", "Voided"),
                    ("due_soon", "Due soon"),
                    ("overdue", "Overdue"),
                    ("late_register", "Not registered in time"),
                    ("late_dispatch", "Not dispatched in time"),
                    ("late_take", "Not taken in time"),
                    ("ext_requested", "Extension requested"),
                    ("ext_approved", "Extension approved"),
                    ("ext_refused", "Extension refused"),
                    ("backlog_review", "Backlog review due"),
                    ("merged", "Merged into another case"),
                ],
                default="legacy",
                max_length=20,
                verbose_name="kind",
            ),
        ),
        migrations.RunSQL(WIDENED, CURRENT),
    ]
