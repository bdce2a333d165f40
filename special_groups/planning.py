"""The tasks each project plans (its ``TaskPlan`` entries in ``special_groups.projects``).

A planner is ``fn(*, project, plan, today) -> int`` (the number of new tasks): it inserts the
tasks that are due and not planned yet. The unique (enrolment, kind, due date) constraint makes
every rerun a no-op, and each planner reads only the open work it plans from (partial indexes),
never the history of done tasks.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection
from django.utils import timezone

from special_groups.models import CaseTask, Enrollment
from special_groups.projects import Project, TaskPlan

# Days before a release date that the pick-up task appears on the officer's list.
PICKUP_LEAD_DAYS = 7

# Follow-up interval in days by risk grade (安宁): stable patients quarterly, grades 1-2
# monthly, grades 3-5 every two weeks.
VISIT_INTERVAL_DAYS = {0: 90, 1: 30, 2: 30, 3: 14, 4: 14, 5: 14}


def visit_interval(risk_grade: int | None) -> int:
    return VISIT_INTERVAL_DAYS.get(risk_grade if risk_grade is not None else 0, 90)


def _active(project: Project):
    return Enrollment.objects.filter(project=project.code, status=Enrollment.Status.ACTIVE)


def _without_open(kind: str):
    """Enrolments that already have an open task of ``kind`` (the open-visit index serves visits)."""
    return CaseTask.objects.filter(kind=kind, done_on__isnull=True).values("enrollment_id")


def plan_pickups(*, project: Project, plan: TaskPlan, today: date) -> int:
    """回归: a pick-up task for each must-pick-up person released within the lead days."""
    targets = _active(project).filter(
        pickup_outcome="", release_date__gte=today, release_date__lte=today + timedelta(days=PICKUP_LEAD_DAYS)
    )
    return insert_new_tasks(kind=plan.kind, due=list(targets.values_list("pk", "release_date")))


def plan_patient_visits(*, project: Project, plan: TaskPlan, today: date) -> int:
    """安宁: the next visit, after the last one (or the enrolment), at the risk grade's interval."""
    rows = (
        _active(project)
        .exclude(pk__in=_without_open(plan.kind))
        .values_list("pk", "risk_grade", "last_visit_on", "enrolled_on")
    )
    return insert_new_tasks(
        kind=plan.kind,
        due=[
            (pk, (last or enrolled) + timedelta(days=visit_interval(grade)))
            for pk, grade, last, enrolled in rows
        ],
    )


def plan_cadence_visits(*, project: Project, plan: TaskPlan, today: date) -> int:
    """A follow-up visit every ``plan.every_days`` after the last one (or the enrolment)."""
    rows = (
        _active(project)
        .exclude(pk__in=_without_open(plan.kind))
        .values_list("pk", "last_visit_on", "enrolled_on")
    )
    every = timedelta(days=plan.every_days or 90)
    return insert_new_tasks(
        kind=plan.kind, due=[(pk, (last or enrolled) + every) for pk, last, enrolled in rows]
    )


def plan_check_ins(*, project: Project, plan: TaskPlan, today: date) -> int:
    """社区矫正: the next expected check-in (报到), ``plan.every_days`` after the last one the person
    made (or the start of the term), while the term lasts; one open check-in at a time."""
    from django.db.models import Max, Q

    rows = (
        _active(project)
        .filter(term_start__isnull=False, term_end__gte=today)
        .exclude(pk__in=_without_open(plan.kind))
        .annotate(last=Max("check_ins__checked_in_on", filter=~Q(check_ins__outcome="missed")))
        .values_list("pk", "last", "term_start", "term_end")
    )
    every = timedelta(days=plan.every_days or 30)
    due = [(pk, (last or start) + every) for pk, last, start, end in rows]
    ends = {pk: end for pk, _last, _start, end in rows}
    return insert_new_tasks(kind=plan.kind, due=[(pk, day) for pk, day in due if day <= ends[pk]])


def insert_new_tasks(*, kind: str, due: list[tuple[int, date]]) -> int:
    """Insert the tasks not planned yet and say how many were new.

    Counting the table before and after would read every task ever planned on every pass, so a
    pass would slow down with years of history; the unique (enrolment, kind, due date) constraint
    decides what is new, and the insert itself reports how many rows it wrote."""
    if not due:
        return 0
    table = connection.ops.quote_name(CaseTask._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (enrollment_id, kind, due_on, created_at) "  # noqa: S608 - the model's own table
            "SELECT enrollment_id, %s, due_on, %s "
            "FROM unnest(%s::bigint[], %s::date[]) AS t(enrollment_id, due_on) "
            "ON CONFLICT ON CONSTRAINT one_task_per_due_date DO NOTHING",
            [kind, timezone.now(), [pk for pk, _day in due], [day for _pk, day in due]],
        )
        return cursor.rowcount
