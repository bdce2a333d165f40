"""Notifications (issue #16): one for every hand-over, to the people it is handed to and nobody
else; stored as a kind and parameters and rendered in the reader's language; delivered through
backends once each; due soon announced once per due time; the home page's inbox and the list at
a constant number of queries."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.roles import Role
from grids.models import Region
from incidents.models import DueSoonNotice, Incident, IncidentEvent, Notification, NotificationDelivery
from incidents.notifications import announce_due_soon, deliver, render
from incidents.services import workflow
from incidents.services.escalation import escalate_overdue
from tests.factories import department_in, user_for_role

pytestmark = pytest.mark.django_db

S = Incident.Status
K = Notification.Kind
COUNTY = "520402"


def kinds(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).order_by("pk").values_list("kind", flat=True))


@pytest.fixture
def staff(home_office, other_office, worker, dispatcher):
    county = Region.objects.get(code=COUNTY)
    police = department_in(county, "police")
    return {
        "worker": worker,
        "head": user_for_role(Role.GRID_OFFICE_HEAD, office=home_office),
        "dispatcher": dispatcher,
        "county_dispatcher": user_for_role(Role.DISPATCHER, region=county),
        "officer": user_for_role(Role.DEPARTMENT_OFFICER, department=police),
        "police": police,
        "stranger": user_for_role(Role.GRID_WORKER, office=other_office),
        "stranger_head": user_for_role(Role.GRID_OFFICE_HEAD, office=other_office),
    }


def test_every_hand_over_tells_the_units_and_people_it_goes_to_and_nobody_else(
    make_incident, staff, home_office
):
    w, head, county, officer = staff["worker"], staff["head"], staff["county_dispatcher"], staff["officer"]
    incident = make_incident()
    workflow.register_incident(actor=county, incident_id=incident.pk)
    assert not Notification.objects.exists()  # registering hands nothing over
    # 主办: the county's police; 协办: the grid's own office. Both units' staff are told, with
    # their part; the dispatcher who did it is not.
    police = staff["police"]
    workflow.dispatch_incident(
        actor=county, incident_id=incident.pk, handling_department=police, assist_offices=[home_office]
    )
    lead = Notification.objects.get(recipient=officer)
    assist = Notification.objects.get(recipient=w)
    assert (lead.kind, lead.params["part"], assist.params["part"]) == (K.DISPATCHED, "lead", "assist")
    assert set(Notification.objects.values_list("recipient", flat=True)) == {officer.pk, w.pk, head.pk}
    # The police return it to the centre: the dispatcher who sent it is told, with the reason.
    workflow.return_incident(actor=officer, incident_id=incident.pk, note="不属于派出所职责")
    returned = Notification.objects.get(recipient=county, kind=K.RETURNED)
    assert returned.params["note"] == "不属于派出所职责" and returned.params["unit"] == staff["police"].name
    # Sent again from "returned": a referral, to the grid office this time.
    workflow.dispatch_incident(actor=county, incident_id=incident.pk, handling_office=home_office)
    assert kinds(w)[-1] == K.REFERRED and kinds(officer) == [K.DISPATCHED]
    workflow.take_incident(actor=w, incident_id=incident.pk)
    workflow.report_handled(actor=w, incident_id=incident.pk, note="已清理")
    # Awaiting verification: the grid office's heads, not its workers, not another office's head.
    assert kinds(head)[-1] == K.AWAITING_VERIFICATION
    assert K.AWAITING_VERIFICATION not in kinds(w) + kinds(staff["stranger_head"])
    workflow.reopen_incident(actor=head, incident_id=incident.pk, note="仍有垃圾")
    assert kinds(w)[-1] == K.SENT_BACK
    workflow.report_handled(actor=w, incident_id=incident.pk, note="已彻底清理")
    workflow.verify_incident(actor=head, incident_id=incident.pk)
    assert kinds(county)[-1] == K.VERIFIED
    workflow.close_incident(actor=county, incident_id=incident.pk)
    # The other office heard nothing; no one was told of their own step.
    assert not Notification.objects.filter(recipient__in=[staff["stranger"], staff["stranger_head"]]).exists()
    for note in Notification.objects.select_related("incident"):
        assert note.incident_id == incident.pk and note.legacy_message == ""


def test_a_declined_report_tells_its_reporter(make_incident, dispatcher, worker):
    incident = make_incident()
    workflow.reject_incident(actor=dispatcher, incident_id=incident.pk, note="非本中心受理事项")
    note = Notification.objects.get(recipient=worker)
    assert (note.kind, note.params["note"]) == (K.REJECTED, "非本中心受理事项")


def test_the_same_stored_notification_reads_in_chinese_and_in_english(make_incident, staff, home_office):
    incident = make_incident()
    county = staff["county_dispatcher"]
    workflow.register_incident(actor=county, incident_id=incident.pk)
    workflow.dispatch_incident(actor=county, incident_id=incident.pk, handling_department=staff["police"])
    note = Notification.objects.get(recipient=staff["officer"])
    with translation.override("zh-hans"):
        chinese = note.message
    with translation.override("en"):
        english = note.message
    police = staff["police"].name
    assert chinese == f"事件 #{incident.pk}（暴露垃圾）已派遣至{police}：主办。"
    assert english == f"Incident #{incident.pk} (Exposed rubbish) was dispatched to {police}: Lead (主办)."
    assert render(note, language="en") == english  # a delivery task's way
    # The row holds no text of either language.
    stored = Notification.objects.filter(pk=note.pk).values("legacy_message", "params").get()
    assert stored["legacy_message"] == "" and "暴露垃圾" not in str(stored["params"])
    # The page renders it in the reader's language.
    from django.test import Client

    client = Client()
    client.force_login(staff["officer"])
    client.cookies["django_language"] = "en"
    assert english in client.get(reverse("incidents:notifications")).content.decode()
    client.cookies["django_language"] = "zh-hans"
    assert chinese in client.get(reverse("incidents:notifications")).content.decode()


def test_a_notification_written_before_keeps_its_text_in_every_language(worker):
    old = Notification.objects.create(recipient=worker, legacy_message="事件 #1 已超期")
    assert old.kind == K.LEGACY
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert old.message == "事件 #1 已超期"


def test_escalation_stores_the_level_and_the_timeline_reads_it_in_each_language(make_incident, dispatcher):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    assert escalate_overdue(now=incident.due_at + timedelta(minutes=1)) == 1
    event = IncidentEvent.objects.get(incident=incident, escalation_level=1)
    assert event.note == ""
    with translation.override("en"):
        assert "Overdue: escalated to Township." in event.change_lines()
    with translation.override("zh-hans"):
        english = "Overdue: escalated to Township."
        assert english not in event.change_lines() and any("乡镇" in line for line in event.change_lines())
    overdue = Notification.objects.filter(kind=K.OVERDUE, incident=incident).first()
    assert overdue is not None and overdue.params["level"] == 1
    with translation.override("en"):
        assert overdue.message.endswith("is overdue and now with Township.")


def test_due_soon_is_announced_once_per_due_time_and_only_inside_the_window(
    make_incident, dispatcher, worker
):
    soon, later = make_incident(), make_incident()
    for incident in (soon, later):
        workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    soon.refresh_from_db()
    Incident.objects.filter(pk=later.pk).update(due_at=soon.due_at + timedelta(days=3))
    now = soon.due_at - timedelta(hours=1)
    assert announce_due_soon(now=now) == 1
    assert announce_due_soon(now=now) == 0  # the same run again: nobody told twice
    assert announce_due_soon(now=now + timedelta(minutes=5)) == 0  # the next run
    assert list(DueSoonNotice.objects.values_list("incident_id", flat=True)) == [soon.pk]
    note = Notification.objects.get(recipient=worker, kind=K.DUE_SOON)
    assert note.incident_id == soon.pk
    with translation.override("en"):
        assert note.message.startswith(f"Incident #{soon.pk} (Exposed rubbish) is due at ")
    # A new due time (a new dispatch, an extension) is a new step, announced once more.
    Incident.objects.filter(pk=soon.pk).update(
        due_at=soon.due_at + timedelta(minutes=30), updated_at=now + timedelta(minutes=7)
    )
    assert announce_due_soon(now=now + timedelta(minutes=10)) == 1
    # Overdue or outside the window: never "due soon".
    assert announce_due_soon(now=soon.due_at + timedelta(hours=2)) == 0


def test_due_soon_reads_only_the_window_since_the_last_run(make_incident, dispatcher):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    incident.refresh_from_db()
    now = incident.due_at - timedelta(hours=3)
    with CaptureQueriesContext(connection) as queries:
        announce_due_soon(now=now)
    select = next(q["sql"] for q in queries.captured_queries if 'FROM "incidents_incident"' in q["sql"])
    assert '"due_at" >' in select and '"updated_at" >=' in select


class RecordingGateway:
    """A stand-in SMS gateway (not the database): records what it was asked to send."""

    sent: list = []
    fail_next = False

    def send_sms(self, *, phone: str, text: str) -> None:
        if RecordingGateway.fail_next:
            RecordingGateway.fail_next = False
            raise ConnectionError("gateway down")
        RecordingGateway.sent.append((phone, text))


@pytest.fixture
def gateways(settings):
    settings.INCIDENT_NOTIFICATION_BACKENDS = [
        "incidents.notifications.SmsBackend",
        "incidents.notifications.EmailBackend",
    ]
    settings.NOTIFICATION_SMS_GATEWAY = "tests.incidents.test_notifications.RecordingGateway"
    RecordingGateway.sent = []
    RecordingGateway.fail_next = False
    return RecordingGateway


def test_each_backend_sends_each_notification_once_even_when_retried(worker, gateways):
    worker.phone, worker.email = "13800001234", "worker@example.org"
    worker.save()
    note = Notification.objects.create(
        recipient=worker, kind=K.OVERDUE, params={"id": 7, "category": "exposed-rubbish", "level": 2}
    )
    gateways.fail_next = True
    with pytest.raises(ConnectionError):
        deliver(notification_ids=[note.pk])  # the gateway fails: the task retries
    assert gateways.sent == [] and not NotificationDelivery.objects.filter(sent_at__isnull=False).exists()
    assert deliver(notification_ids=[note.pk]) == 2
    assert deliver(notification_ids=[note.pk, note.pk]) == 0  # redelivered: nothing more
    assert len(gateways.sent) == 1 and len(mail.outbox) == 1
    # Written in the recipient's language when no page is rendered (the site's default).
    assert gateways.sent[0] == ("13800001234", "事件 #7（暴露垃圾）已超期，现由县（区）督办。")
    assert mail.outbox[0].to == ["worker@example.org"]


def test_without_a_gateway_the_sms_backend_logs_a_masked_number(worker, settings, caplog):
    settings.INCIDENT_NOTIFICATION_BACKENDS = ["incidents.notifications.SmsBackend"]
    settings.NOTIFICATION_SMS_GATEWAY = ""
    worker.phone = "13800001234"
    worker.save()
    note = Notification.objects.create(recipient=worker, kind=K.VOIDED, params={"id": 3, "note": "重复"})
    with caplog.at_level(logging.INFO, logger="incidents.notifications"):
        assert deliver(notification_ids=[note.pk]) == 1
    assert "13800001234" not in caplog.text and "138" in caplog.text and "作废" in caplog.text


def test_delivery_is_queued_only_after_the_commit(
    make_incident, dispatcher, settings, django_capture_on_commit_callbacks
):
    settings.INCIDENT_NOTIFICATION_BACKENDS = ["incidents.notifications.SmsBackend"]
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    queued = [c for c in callbacks if "deliver_notifications" in repr(c)]
    assert len(queued) == 1 and not NotificationDelivery.objects.exists()


def home_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200
    return len(queries)


def test_home_inbox_and_notifications_list_cost_the_same_queries_whatever_the_data(
    client, make_incident, dispatcher, worker, home_office
):
    head = user_for_role(Role.GRID_OFFICE_HEAD, office=home_office)

    def hand_over(n: int):
        for _i in range(n):
            incident = make_incident()
            workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
            workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)

    hand_over(1)
    small = {u: home_queries(client, u) for u in (worker, head, dispatcher)}
    client.force_login(worker)
    with CaptureQueriesContext(connection) as listed:
        client.get(reverse("incidents:notifications"))
    hand_over(8)
    big = {u: home_queries(client, u) for u in (worker, head, dispatcher)}
    assert big == small
    Notification.objects.filter(recipient=worker).update(read_at=None)
    client.force_login(worker)
    with CaptureQueriesContext(connection) as listed_more:
        client.get(reverse("incidents:notifications"))
    assert len(listed_more) == len(listed)
    page = client.get("/").content.decode()
    assert 'data-testid="inbox-dispatched-count">9<' in page


def test_mark_read_touches_only_ones_own_and_never_redirects_elsewhere(client, worker, dispatcher):
    mine = Notification.objects.create(recipient=worker, legacy_message="a")
    theirs = Notification.objects.create(recipient=dispatcher, legacy_message="b")
    client.force_login(worker)
    response = client.post(reverse("incidents:notifications"), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == reverse("incidents:notifications")
    assert client.post(reverse("incidents:notifications"), {"next": "/"})["Location"] == "/"
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None
    assert timezone.now() - mine.read_at < timedelta(minutes=1)
    # A role whose work has no incidents: refused, nothing marked.
    lawyer = user_for_role(Role.LAWYER)
    kept = Notification.objects.create(recipient=lawyer, legacy_message="c")
    client.force_login(lawyer)
    assert client.post(reverse("incidents:notifications"), {"next": "/"}).status_code == 302
    kept.refresh_from_db()
    assert kept.read_at is None


def test_edits_and_public_notes_on_the_timeline_read_in_each_language(worker):
    event = IncidentEvent(
        from_status=S.REPORTED, to_status=S.REPORTED, changes={"edited": ["priority"], "public_note": ""}
    )
    with translation.override("en"):
        assert event.change_lines() == ["Changed: priority", "Public note: (the status in words)"]
    with translation.override("zh-hans"):
        assert event.change_lines() == ["已修改：优先级", "公开说明：（显示状态名称）"]
