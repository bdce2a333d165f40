"""A case a unit returns (退回) waits for the centre's 派遣 again, under the same one-working-hour
limit as after 立案: the intake queue's trigger function (migration 0014) now keeps
``intake_alert_at`` for returned cases too, so the alert job finds them by the same partial index.

The function is 0014's own text with the statuses widened (``CREATE OR REPLACE``; the trigger that
calls it stays as it is)."""

from importlib import import_module

from django.db import migrations

_ORIGINAL = import_module("incidents.migrations.0014_worktime").INTAKE_SQL
_FUNCTION = _ORIGINAL[: _ORIGINAL.index("CREATE TRIGGER")].replace(
    "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
)
BEFORE = "NEW.status NOT IN ('reported', 'registered')"
AFTER = "NEW.status NOT IN ('reported', 'registered', 'returned')"
assert BEFORE in _FUNCTION  # noqa: S101 - a migration built on 0014's text must find what it widens


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0019_perf_office_sync_position"),
    ]

    operations = [migrations.RunSQL(_FUNCTION.replace(BEFORE, AFTER), _FUNCTION)]
