"""Small database helpers shared by the apps."""

from __future__ import annotations

from django.db import connection, models


def analyze(*tables: type[models.Model] | str) -> None:
    """``ANALYZE`` the tables of the given models (or table names) after a bulk write.

    Why: the planner plans from the statistics it has, and autovacuum refreshes them only after
    the writing transaction has committed and some time has passed, never inside a transaction
    that is still open (a loader's, or a test's). A table that thousands of rows have just
    arrived in still looks empty, and the planner picks nested loops that crawl (a test that
    loaded the special-population demo spent about a minute in a join of 11,806 × 11,821 rows).

    ``ANALYZE`` runs inside the caller's transaction and samples the rows it can see, its own
    uncommitted ones included; it locks out only other ``ANALYZE``/``VACUUM`` runs of the same
    tables until the transaction ends, never readers or writers.
    """
    names = sorted({t if isinstance(t, str) else t._meta.db_table for t in tables})
    if not names:
        return
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(name) for name in names))
