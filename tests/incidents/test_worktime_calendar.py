"""Statutory holidays and 调休 working days in the working-hour arithmetic (国庆 2026: 1–7 October
off, Saturday 10 October worked), the admins' local calendar that overrides the library and is
the only calendar for 2027+, the cache in front of it, and the 立案 / 派遣 limits and their alert."""

from datetime import date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.roles import Role
from anshun.commands import NotPermitted
from incidents.models import CalendarDay, Incident, IncidentEvent, Notification
from incidents.services import workflow, worktime
from incidents.services.calendar import calendar_day_delete, calendar_day_set
from incidents.services.escalation import alert_overdue_intake
from incidents.services.worktime import LOCAL, add_working_hours, is_working_day
from tests.factories import user_for_role


def local(*args):
    return datetime(*args, tzinfo=LOCAL)


def about(moment):
    """The clock runs on from where a test set it: due times computed from "now" are a few
    milliseconds past the minute."""
    return moment.astimezone(LOCAL).replace(second=0, microsecond=0)


@pytest.fixture(autouse=True)
def fresh_calendar_cache():
    """A test's rows vanish with its rollback, which no write hook sees: start and end clean."""
    worktime.calendar_changed()
    yield
    worktime.calendar_changed()


# -- the library's 2026 calendar ---------------------------------------------------------------


@pytest.mark.django_db
def test_national_day_2026_is_skipped():
    # Wednesday 30 September 16:00: two hours that day, then 1–7 October are holidays; the
    # remaining six hours run on Thursday 8 October.
    assert add_working_hours(local(2026, 9, 30, 16, 0), 8) == local(2026, 10, 8, 16, 0)


@pytest.mark.django_db
def test_the_adjusted_saturday_is_a_working_day():
    # Friday 9 October 17:00: one hour left that day, the next on Saturday 10 October (调休).
    assert not is_working_day(date(2026, 10, 11))  # the Sunday after it is not
    assert add_working_hours(local(2026, 10, 9, 17, 0), 2) == local(2026, 10, 10, 10, 0)


@pytest.mark.django_db
def test_three_working_days_across_national_day_and_its_saturday():
    # 1 h on 30 September, 8 + 8 on 8 and 9 October, the last 7 on Saturday 10 October.
    assert add_working_hours(local(2026, 9, 30, 17, 0), 24) == local(2026, 10, 10, 17, 0)


# -- the local calendar --------------------------------------------------------------------------


@pytest.fixture
def admin(db):
    return user_for_role(Role.ADMIN)


@pytest.mark.django_db
def test_a_local_day_overrides_the_library_and_refreshes_the_cache(admin):
    start = local(2026, 9, 30, 16, 0)
    assert add_working_hours(start, 8) == local(2026, 10, 8, 16, 0)
    calendar_day_set(actor=admin, day=date(2026, 10, 8), kind=CalendarDay.Kind.HOLIDAY, note="本地补休")
    assert add_working_hours(start, 8) == local(2026, 10, 9, 16, 0)
    calendar_day_set(actor=admin, day=date(2026, 10, 3), kind=CalendarDay.Kind.WORKING_DAY)
    assert add_working_hours(start, 8) == local(2026, 10, 3, 16, 0)
    calendar_day_delete(actor=admin, day=date(2026, 10, 3))
    calendar_day_delete(actor=admin, day=date(2026, 10, 8))
    assert add_working_hours(start, 8) == local(2026, 10, 8, 16, 0)


@pytest.mark.django_db
def test_years_the_library_does_not_cover_count_weekdays_and_local_days_only(admin):
    assert not worktime.library_covers(2027)
    # Friday 31 December 2027 17:00 + 2 h: an hour that day, then Monday 3 January 2028 (no crash).
    assert add_working_hours(local(2027, 12, 31, 17, 0), 2) == local(2028, 1, 3, 10, 0)
    # 2027's New Year's Day (a Friday) is a working day until an admin enters it.
    assert add_working_hours(local(2026, 12, 31, 17, 0), 2) == local(2027, 1, 1, 10, 0)
    calendar_day_set(actor=admin, day=date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, note="元旦")
    assert add_working_hours(local(2026, 12, 31, 17, 0), 2) == local(2027, 1, 4, 10, 0)


@pytest.mark.django_db
def test_the_calendar_is_read_from_the_cache_not_per_computation(admin, monkeypatch):
    add_working_hours(local(2026, 9, 30, 16, 0), 8)  # loads it
    with CaptureQueriesContext(connection) as queries:
        for hours in range(1, 40):
            add_working_hours(local(2026, 9, 30, 16, 0), hours)
    assert len(queries) == 0
    # A row written around the commands (another process, psql) is not seen until the
    # generation changes: proof that it is a cache; a command's write bumps it.
    CalendarDay.objects.create(day=date(2026, 10, 8), kind=CalendarDay.Kind.HOLIDAY)
    monkeypatch.setattr(worktime, "RECHECK_SECONDS", 0)
    assert add_working_hours(local(2026, 9, 30, 16, 0), 8) == local(2026, 10, 8, 16, 0)
    calendar_day_set(actor=admin, day=date(2026, 10, 9), kind=CalendarDay.Kind.HOLIDAY)
    # Both rows now count: 8 and 9 October off, so Saturday 10 October (调休) takes the rest.
    assert add_working_hours(local(2026, 9, 30, 16, 0), 8) == local(2026, 10, 10, 16, 0)


@pytest.mark.django_db
def test_only_admins_keep_the_calendar(dispatcher):
    with pytest.raises(NotPermitted):
        calendar_day_set(actor=dispatcher, day=date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY)
    with pytest.raises(NotPermitted):
        calendar_day_delete(actor=dispatcher, day=date(2027, 1, 1))
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_admin_page_warns_about_uncovered_years_and_writes_through_the_command(client, admin, clock):
    client.force_login(admin)
    page = client.get("/admin/incidents/calendarday/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2027" in text and "2004–2026" in text  # the warning names the year and the coverage
    answer = client.post(
        "/admin/incidents/calendarday/add/", {"day": "2027-02-08", "kind": "holiday", "note": "春节"}
    )
    assert answer.status_code == 302
    entry = CalendarDay.objects.get(day=date(2027, 2, 8))
    assert entry.updated_by == admin and entry.note == "春节"
    assert not is_working_day(date(2027, 2, 8))  # the cache saw the admin's write at once
    # Bad input is a form error, nothing written; a second entry for a day is refused.
    assert (
        client.post("/admin/incidents/calendarday/add/", {"day": "2027-02-30", "kind": "holiday"}).status_code
        == 200
    )
    assert (
        client.post("/admin/incidents/calendarday/add/", {"day": "2027-02-08", "kind": "x"}).status_code
        == 200
    )
    assert CalendarDay.objects.count() == 1
    answer = client.post(f"/admin/incidents/calendarday/{entry.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302 and not CalendarDay.objects.exists()
    assert is_working_day(date(2027, 2, 8))


@pytest.mark.django_db
def test_staff_without_the_capability_cannot_open_the_calendar(client):
    staff = user_for_role(Role.DISPATCHER)
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    client.force_login(staff)
    assert client.get("/admin/incidents/calendarday/").status_code == 403
    assert (
        client.post("/admin/incidents/calendarday/add/", {"day": "2027-02-08", "kind": "holiday"}).status_code
        == 403
    )
    assert not CalendarDay.objects.exists()


# -- due times through the workflow, the page and the alert ------------------------------------


@pytest.mark.django_db
def test_a_dispatch_before_national_day_is_due_after_it_and_the_page_shows_it(
    make_incident, dispatcher, client, clock
):
    clock.move_to(local(2026, 9, 30, 16, 0))
    incident = make_incident()  # exposed rubbish: 8 working hours
    assert about(incident.register_due_at) == local(2026, 9, 30, 17, 0)
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    assert about(incident.dispatch_due_at) == local(2026, 9, 30, 17, 0)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    assert about(incident.due_at) == local(2026, 10, 8, 16, 0)
    client.force_login(dispatcher)
    page = client.get(f"/incidents/{incident.pk}/")
    assert '<dd data-testid="due-at">2026-10-08 16:00</dd>' in page.content.decode()


@pytest.mark.django_db
def test_a_report_late_on_friday_before_the_adjusted_saturday_must_be_registered_on_it(
    make_incident, dispatcher, client, clock
):
    clock.move_to(local(2026, 10, 9, 17, 30))
    incident = make_incident()
    assert about(incident.register_due_at) == local(2026, 10, 10, 9, 30)  # Saturday, a 调休 working day
    client.force_login(dispatcher)
    text = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert '<dd data-testid="register-due">2026-10-10 09:30</dd>' in text
    queue = client.get("/incidents/queue/").content.decode()
    assert "2026-10-10 09:30" in queue


@pytest.mark.django_db
def test_overdue_intake_alerts_the_township_centre_once_per_limit(make_incident, dispatcher, worker, clock):
    clock.move_to(local(2026, 11, 25, 10, 0))
    incident = make_incident()
    assert alert_overdue_intake(now=local(2026, 11, 25, 10, 59)) == 0
    assert alert_overdue_intake(now=local(2026, 11, 25, 11, 1)) == 1
    assert alert_overdue_intake(now=local(2026, 11, 25, 11, 30)) == 0  # once
    assert Notification.objects.filter(recipient=dispatcher, incident=incident).count() == 1
    assert IncidentEvent.objects.filter(incident=incident, kind=IncidentEvent.Kind.DEADLINE).count() == 1
    # 立案 starts the 派遣 limit, alerted once too; a dispatched case leaves the queue.
    clock.move_to(local(2026, 11, 25, 11, 30))
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    assert about(Incident.objects.get(pk=incident.pk).intake_alert_at) == local(2026, 11, 25, 13, 30)
    assert alert_overdue_intake(now=local(2026, 11, 25, 13, 31)) == 1
    assert alert_overdue_intake(now=local(2026, 11, 25, 14, 0)) == 0
    other = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=other.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=other.pk)
    # Dispatched: the lead unit's 签收 limit is queued now; taking the case ends intake.
    assert Incident.objects.get(pk=other.pk).intake_alert_at is not None
    workflow.take_incident(actor=worker, incident_id=other.pk)
    assert Incident.objects.get(pk=other.pk).intake_alert_at is None
    assert Notification.objects.filter(recipient=dispatcher).count() == 2


@pytest.mark.django_db
def test_a_raw_insert_without_limits_is_queued_and_its_limit_filled_by_the_job(make_incident, clock):
    """Bulk sync inserts rows with raw SQL: the trigger queues them at a lower bound (an hour
    after the report), and the job stores the exact working-time limit."""
    clock.move_to(local(2026, 9, 30, 17, 30))
    incident = make_incident()
    Incident.objects.filter(pk=incident.pk).update(register_due_at=None, intake_alert_at=None)
    with connection.cursor() as cursor:  # what an insert without the column gets
        cursor.execute(
            "UPDATE incidents_incident SET status = 'registered' WHERE id = %s; "
            "UPDATE incidents_incident SET status = 'reported' WHERE id = %s",
            [incident.pk, incident.pk],
        )
    incident.refresh_from_db()
    assert incident.intake_alert_at == local(2026, 9, 30, 18, 30)
    assert alert_overdue_intake(now=local(2026, 9, 30, 19, 0)) == 0
    incident.refresh_from_db()
    assert about(incident.register_due_at) == local(2026, 10, 8, 9, 30) == about(incident.intake_alert_at)


@pytest.mark.django_db
def test_the_intake_pass_reads_only_what_fell_due(make_incident, clock):
    clock.move_to(local(2026, 11, 25, 10, 0))
    make_incident()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM incidents_incident"
            " WHERE intake_alert_at <= now() ORDER BY intake_alert_at"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "incidents_intake_queue" in plan


@pytest.mark.django_db
def test_a_returned_case_must_be_dispatched_again_within_the_limit(
    make_incident, dispatcher, worker, client, clock
):
    """退回: the unit sends the case back to the centre, which has one working hour again to send
    it on; the page shows the new limit and the job alerts the township centre once if it passes."""
    clock.move_to(local(2026, 11, 25, 9, 0))
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.take_incident(actor=worker, incident_id=incident.pk)
    assert alert_overdue_intake(now=local(2026, 11, 25, 12, 0)) == 0  # taken: out of the queue
    clock.move_to(local(2026, 11, 25, 17, 30))
    workflow.return_incident(actor=worker, incident_id=incident.pk, note="不属于本网格")
    incident.refresh_from_db()
    assert incident.status == Incident.Status.RETURNED
    # Half an hour left today, half an hour from the next working morning.
    assert about(incident.dispatch_due_at) == local(2026, 11, 26, 9, 30) == about(incident.intake_alert_at)
    client.force_login(dispatcher)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert '<dd data-testid="dispatch-due">2026-11-26 09:30</dd>' in page
    assert alert_overdue_intake(now=local(2026, 11, 26, 9, 29)) == 0
    assert alert_overdue_intake(now=local(2026, 11, 26, 9, 31)) == 1
    assert alert_overdue_intake(now=local(2026, 11, 26, 10, 0)) == 0  # once
    notice = Notification.objects.filter(recipient=dispatcher, incident=incident).latest("id")
    assert notice.kind == Notification.Kind.NOT_DISPATCHED
    # Sent on: now the unit's 签收 limit is what the queue holds.
    clock.move_to(local(2026, 11, 26, 10, 0))
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    assert about(incident.intake_alert_at) == local(2026, 11, 26, 11, 0) == about(incident.take_due_at)


@pytest.mark.django_db
def test_the_lead_unit_must_take_a_dispatched_case_within_the_hour(
    make_incident, dispatcher, worker, client, clock
):
    """签收: dispatched at 11:30 on a Wednesday, the grid office has until 13:30 (the lunch hour is
    not working time) to take it; the page shows the limit, and once it passes the township centre
    and the unit's own staff are told once, in the reader's language, with a timeline entry."""
    clock.move_to(local(2026, 11, 25, 11, 30))
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    assert about(incident.take_due_at) == local(2026, 11, 25, 13, 30) == about(incident.intake_alert_at)
    client.force_login(dispatcher)
    assert (
        '<dd data-testid="take-due">2026-11-25 13:30</dd>'
        in client.get(f"/incidents/{incident.pk}/").content.decode()
    )
    assert alert_overdue_intake(now=local(2026, 11, 25, 13, 29)) == 0
    assert alert_overdue_intake(now=local(2026, 11, 25, 13, 31)) == 1
    assert alert_overdue_intake(now=local(2026, 11, 25, 15, 0)) == 0  # once
    told = Notification.objects.filter(incident=incident, kind=Notification.Kind.NOT_TAKEN)
    assert {n.recipient_id for n in told} >= {dispatcher.pk, worker.pk}
    entry = IncidentEvent.objects.get(incident=incident, kind=IncidentEvent.Kind.DEADLINE)
    assert entry.changes["deadline"]["code"] == "not_taken"
    with translation.override("zh-hans"):
        assert "未按时签收" in told.get(recipient=worker).message
        assert any("未在时限内签收" in line for line in entry.change_lines())
    # Taken, even late: out of the queue, and a later pass tells no one.
    workflow.take_incident(actor=worker, incident_id=incident.pk)
    assert Incident.objects.get(pk=incident.pk).intake_alert_at is None
    assert alert_overdue_intake(now=local(2026, 11, 25, 17, 0)) == 0
