"""Rollup tables behind the dashboards: figures kept current from the raw records, never typed in.

- ``Pending``: what changed. Triggers on every source table (incidents, mediation cases and their
  agreements and confirmations, cameras, safe cells) queue the id of each record a statement
  touches, in the writer's own transaction, whatever door it came through (services, bulk sync,
  Open311, the admin, loaders, raw SQL).
- ``Entry``: the ledger, what each record currently contributes (its region, dimensions and
  count), as last folded. Pages never read it.
- ``Tally``: the sums of the entries, per measure, region *at every level* (a village's entry is
  also counted in its township, county and city), dimensions and time bucket. A dashboard reads
  only the rows of one region, so its cost does not grow with the history behind it.
- ``FoldState``: when the figures were last brought up to date (shown on the pages).

The fold (``rollups.services.fold``) recomputes the queued records' entries and adds the
difference to the tallies, in one transaction with the queue's rows taken off it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Pending(models.Model):
    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=20)
    source_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("queued rollup change")
        verbose_name_plural = _("queued rollup changes")

    def __str__(self) -> str:
        return f"{self.source} {self.source_id}"


class _Key(models.Model):
    measure = models.CharField(max_length=40)
    region = models.ForeignKey(
        "grids.Region", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    dim_a = models.BigIntegerField(default=0)  # e.g. a committee id
    dim_b = models.CharField(max_length=40, default="", blank=True)  # e.g. a status
    dim_c = models.CharField(max_length=20, default="", blank=True)  # e.g. a flag
    # A time the figure depends on, compared with "now" when read (a due time, a validity day).
    bucket = models.DateTimeField(null=True, blank=True)
    n = models.BigIntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        abstract = True


class Entry(_Key):
    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=20)
    source_id = models.BigIntegerField()
    # A count of people (measures named "people.*"): the person, by the keyed hash of their ID
    # number, and the time [bucket, until) they count in. Such entries are not summed: each
    # person counts once per region, over the union of their entries' times (``Mark``).
    who = models.CharField(max_length=64, null=True, blank=True)
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rollup entry")
        verbose_name_plural = _("rollup entries")
        indexes = [
            models.Index(fields=["source", "source_id"], name="rollups_entry_source"),
            models.Index(
                fields=["measure", "who"], name="rollups_entry_person", condition=models.Q(who__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.source_id}: {self.measure} {self.n}"


class Tally(_Key):
    id = models.BigAutoField(primary_key=True)

    class Meta:
        verbose_name = _("rollup tally")
        verbose_name_plural = _("rollup tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["measure", "region", "dim_a", "dim_b", "dim_c", "bucket"],
                name="rollups_tally_key",
                nulls_distinct=False,
            )
        ]
        indexes = [
            # The fold's merge of passed buckets (rollups.services.PASSED_MEASURES) finds the rows
            # that crossed the line since its last run through this index, not by a scan.
            models.Index(
                fields=["bucket"],
                name="rollups_tally_passed",
                condition=models.Q(measure__in=["incidents", "mediation.case"]),
            ),
            # ... and the six projects' days of months that have ended (MONTHLY_MEASURES).
            models.Index(
                fields=["bucket"],
                name="rollups_tally_monthly",
                condition=models.Q(
                    measure__in=[
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
                    ]
                ),
            ),
            # The dashboards read one region's rows of a few measures (``special_groups`` sums a
            # period's figures, finds the latest year, folds a year by month). The key index puts
            # the measure first and leaves the sums to fetch every row from the heap, where a
            # five-year table scatters a region's rows over as many pages as rows; this one holds
            # what those reads need, so they never touch the heap and cost the region's rows only.
            models.Index(
                fields=["region", "measure", "bucket"],
                include=["dim_a", "dim_b", "dim_c", "n", "amount"],
                name="rollups_tally_region_read",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.measure} {self.region_id} {self.dim_a}/{self.dim_b}/{self.dim_c} {self.bucket}: {self.n}"
        )


class Mark(_Key):
    """One person's count in one region (and every region above it has its own marks): +1 from
    the start of each stretch of time their entries cover, -1 at its end. A person with two
    records (two counties enrolled the same ID number) is one person in the city's marks."""

    id = models.BigAutoField(primary_key=True)
    who = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("rollup person mark")
        verbose_name_plural = _("rollup person marks")
        indexes = [models.Index(fields=["measure", "who"], name="rollups_mark_person")]

    def __str__(self) -> str:
        return f"{self.measure} {self.region_id}: {self.n}"


class FoldState(models.Model):
    """One row: when the tallies last took in every change queued before that moment."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    folded_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)
    records = models.PositiveIntegerField(default=0)  # records refolded by the last run

    class Meta:
        verbose_name = _("rollup state")
        verbose_name_plural = _("rollup state")

    def __str__(self) -> str:
        return f"folded at {self.folded_at}"
