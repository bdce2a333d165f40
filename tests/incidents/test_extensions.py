"""延期 and 挂账 through every door (service, page, API, admin), tried as an attacker would:
the handling unit asks, the centre of the incident's jurisdiction decides, one pending request
per case; a case on the backlog leaves the escalation, is flagged once at its review date and
comes back with a new deadline. Refusals write nothing. List pages cost the same for 1 or 3 rows."""

from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from anshun.commands import Conflict, NotFound, NotPermitted
from grids.models import Region
from incidents.models import BacklogEntry, ExtensionRequest, Incident, IncidentEvent, Notification
from incidents.services import workflow
from incidents.services.backlog import backlog_lift, backlog_place, backlog_review, review_backlog
from incidents.services.escalation import escalate_overdue
from incidents.services.extensions import decide_extension, request_extension
from incidents.services.worktime import LOCAL
from tests.factories import department_in, user_for_role
from tests.incidents.conftest import OTHER_COUNTY

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def local(*args):
    return datetime(*args, tzinfo=LOCAL)


# At FIXED_NOW (Wednesday 2026-11-25 10:00) an exposed-rubbish case (8 working hours) dispatched
# now is due on Thursday 10:00; the unit asks for Friday 17:00.
FRIDAY_EVENING = local(2026, 11, 27, 17, 0)


@pytest.fixture
def handling(make_incident, dispatcher, worker):
    incident = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
    return workflow.take_incident(actor=worker, incident_id=incident.pk)


@pytest.fixture
def far_dispatcher(db):
    return user_for_role(Role.DISPATCHER, region=Region.objects.get(code=OTHER_COUNTY))


@pytest.fixture
def stranger(other_office):
    """A grid worker of another office in the same township: not the handling unit."""
    return user_for_role(Role.GRID_WORKER, office=other_office)


def state(incident):
    """What a refused write could have touched."""
    fresh = Incident.objects.get(pk=incident.pk)
    return (
        fresh.due_at,
        fresh.version,
        list(ExtensionRequest.objects.order_by("pk").values_list("pk", "state", "requested_due_at")),
        list(BacklogEntry.objects.order_by("pk").values_list("pk", "state")),
        IncidentEvent.objects.filter(incident=incident).count(),
    )


def ask(incident, worker, due=FRIDAY_EVENING, reason="需协调住建部门现场核实"):
    return request_extension(actor=worker, incident_id=incident.pk, reason=reason, requested_due_at=due)


# -- 延期 ------------------------------------------------------------------------------------------


def test_an_approved_extension_moves_the_deadline_and_the_timeline_says_so(
    handling, worker, dispatcher, client
):
    old_due = handling.due_at
    extension = ask(handling, worker)
    assert Notification.objects.filter(recipient=dispatcher, incident=handling).count() == 1
    decide_extension(actor=dispatcher, extension_id=extension.pk, approve=True, note="同意")
    fresh = Incident.objects.get(pk=handling.pk)
    assert fresh.due_at == FRIDAY_EVENING and fresh.version == handling.version + 1
    assert fresh.next_escalation_at == FRIDAY_EVENING  # the escalation queue follows the deadline
    extension.refresh_from_db()
    assert (extension.state, extension.decided_by, extension.previous_due_at) == (
        "approved",
        dispatcher,
        old_due,
    )
    entry = IncidentEvent.objects.filter(incident=handling, kind=IncidentEvent.Kind.DEADLINE).last()
    assert [datetime.fromisoformat(v) for v in entry.changes["due_at"]] == [old_due, FRIDAY_EVENING]
    assert Notification.objects.filter(recipient=worker, incident=handling).exists()
    client.force_login(worker)
    page = client.get(f"/incidents/{handling.pk}/").content.decode()
    assert '<dd data-testid="due-at">2026-11-27 17:00</dd>' in page
    assert "2026-11-26 10:00 → 2026-11-27 17:00" in page  # on the timeline and in the panel
    assert 'data-state="approved"' in page


def test_a_refusal_needs_a_note_and_keeps_the_deadline(handling, worker, dispatcher):
    extension = ask(handling, worker)
    before = state(handling)
    with pytest.raises(ValidationError):
        decide_extension(actor=dispatcher, extension_id=extension.pk, approve=False, note="  ")
    assert state(handling) == before
    decide_extension(actor=dispatcher, extension_id=extension.pk, approve=False, note="期限内可办结")
    assert Incident.objects.get(pk=handling.pk).due_at == handling.due_at
    with pytest.raises(Conflict):  # decided once
        decide_extension(actor=dispatcher, extension_id=extension.pk, approve=True)
    ask(handling, worker)  # after a decision the unit may ask again


def test_one_pending_request_per_case(handling, worker):
    ask(handling, worker)
    before = state(handling)
    with pytest.raises(Conflict):
        ask(handling, worker, due=FRIDAY_EVENING + timedelta(hours=1))
    assert state(handling) == before
    with pytest.raises(IntegrityError), transaction.atomic():  # the database holds the line too
        ExtensionRequest.objects.create(
            incident=handling,
            reason="x",
            previous_due_at=handling.due_at,
            requested_due_at=FRIDAY_EVENING,
            requested_by=worker,
        )


@pytest.mark.parametrize(
    "due, reason",
    [
        (local(2026, 11, 26, 9, 0), "早于现有期限"),
        (datetime(2026, 11, 27, 17, 0), "naive"),  # noqa: DTZ001 - the point of the case
        (local(2026, 12, 31, 17, 0), "超过15个工作日"),
        ("2026-11-27 17:00", "a string"),
        (FRIDAY_EVENING, "   "),
        (FRIDAY_EVENING, "含\x00字符"),
        (FRIDAY_EVENING, "长" * 2001),
    ],
)
def test_bad_requests_are_field_errors_and_write_nothing(handling, worker, due, reason):
    before = state(handling)
    with pytest.raises(ValidationError):
        ask(handling, worker, due=due, reason=reason)
    assert state(handling) == before


def test_only_a_running_deadline_can_be_extended(make_incident, worker, dispatcher):
    reported = make_incident()
    with pytest.raises(NotPermitted):
        ask(reported, dispatcher)  # dispatchers do not hold incident.handle…
    admin = user_for_role(Role.ADMIN)
    with pytest.raises(ValidationError):
        ask(reported, admin)  # …and a case not yet dispatched has no deadline to move


def test_who_may_ask_and_who_may_decide(
    handling, worker, dispatcher, far_dispatcher, stranger, make_incident
):
    # A 协办 department sees the case but is not the handling unit.
    justice = department_in(Region.objects.get(code="520402005"), "justice")
    assisted = make_incident()
    workflow.register_incident(actor=dispatcher, incident_id=assisted.pk)
    workflow.dispatch_incident(actor=dispatcher, incident_id=assisted.pk, assist_departments=[justice])
    with pytest.raises(NotPermitted):
        ask(assisted, user_for_role(Role.DEPARTMENT_OFFICER, department=justice))
    before = state(handling)
    with pytest.raises(NotFound):
        ask(handling, stranger)  # another office of the township does not see it
    with pytest.raises(NotPermitted):
        ask(handling, dispatcher)  # no incident.handle
    with pytest.raises(NotFound):
        ask(handling, user_for_role(Role.DEPARTMENT_OFFICER))  # out of a department's sight
    assert state(handling) == before
    extension = ask(handling, worker)
    before = state(handling)
    with pytest.raises(NotFound):
        decide_extension(actor=far_dispatcher, extension_id=extension.pk, approve=True)
    with pytest.raises(NotPermitted):
        decide_extension(actor=worker, extension_id=extension.pk, approve=True)  # not the centre
    with pytest.raises(NotFound):
        decide_extension(actor=dispatcher, extension_id=extension.pk + 1000, approve=True)
    assert state(handling) == before


def test_the_page_doors(handling, worker, dispatcher, far_dispatcher, client):
    client.force_login(worker)
    url = f"/incidents/{handling.pk}/extension/request/"
    for bad in ({"requested_due_at": "next week", "reason": "x"}, {"requested_due_at": "", "reason": "x"}):
        answer = client.post(url, bad, follow=True)
        assert answer.status_code == 200 and not ExtensionRequest.objects.exists()
    answer = client.post(url, {"requested_due_at": "2026-11-27T17:00", "reason": "需协调"}, follow=True)
    assert answer.status_code == 200
    extension = ExtensionRequest.objects.get()
    assert extension.requested_due_at == FRIDAY_EVENING
    # The worker has no decision button and cannot decide by posting either.
    assert 'data-action="approve-extension"' not in client.get(f"/incidents/{handling.pk}/").content.decode()
    decide = f"/incidents/{handling.pk}/extension/{extension.pk}/decide/"
    client.post(decide, {"decision": "approve"})
    assert ExtensionRequest.objects.get().state == "pending"
    client.force_login(far_dispatcher)
    assert client.post(decide, {"decision": "approve"}).status_code == 404
    client.force_login(dispatcher)
    assert (
        client.post(
            f"/incidents/{handling.pk + 1}/extension/{extension.pk}/decide/", {"decision": "approve"}
        ).status_code
        == 404
    )
    client.post(decide, {"decision": "maybe"})
    assert ExtensionRequest.objects.get().state == "pending"
    page = client.get(f"/incidents/{handling.pk}/").content.decode()
    assert 'data-action="approve-extension"' in page
    client.post(decide, {"decision": "approve", "note": "同意"})
    assert Incident.objects.get(pk=handling.pk).due_at == FRIDAY_EVENING


def test_the_api_doors(handling, worker, dispatcher, far_dispatcher, api_client):
    api_client.force_authenticate(worker)
    body = {"incident": handling.pk, "requested_due_at": "2026-11-27T17:00:00+08:00", "reason": "需协调"}
    assert (
        api_client.post(
            "/api/incident-extensions/", {**body, "requested_due_at": "soon"}, format="json"
        ).status_code
        == 400
    )
    assert (
        api_client.post("/api/incident-extensions/", {**body, "incident": 2**70}, format="json").status_code
        == 400
    )
    assert (
        api_client.post(
            "/api/incident-extensions/", {**body, "incident": handling.pk + 999}, format="json"
        ).status_code
        == 404
    )
    created = api_client.post("/api/incident-extensions/", body, format="json")
    assert created.status_code == 201, created.content
    assert api_client.post("/api/incident-extensions/", body, format="json").status_code == 409
    pk = created.json()["id"]
    assert api_client.post(f"/api/incident-extensions/{pk}/approve/", {}, format="json").status_code == 403
    api_client.force_authenticate(far_dispatcher)
    assert api_client.post(f"/api/incident-extensions/{pk}/approve/", {}, format="json").status_code == 404
    assert api_client.get("/api/incident-extensions/?state=pending").json()["count"] == 0
    api_client.force_authenticate(dispatcher)
    assert api_client.get("/api/incident-extensions/?state=bogus").status_code == 400
    assert api_client.get("/api/incident-extensions/99999999999999999999999/").status_code == 404
    assert (
        api_client.post(f"/api/incident-extensions/{pk}/refuse/", {"note": ""}, format="json").status_code
        == 400
    )
    assert api_client.get("/api/incident-extensions/?state=pending").json()["count"] == 1
    approved = api_client.post(f"/api/incident-extensions/{pk}/approve/", {"note": "同意"}, format="json")
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    assert Incident.objects.get(pk=handling.pk).due_at == FRIDAY_EVENING


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _handling_cases(make_incident, dispatcher, worker, n):
    cases = []
    for _ in range(n):
        incident = make_incident()
        workflow.register_incident(actor=dispatcher, incident_id=incident.pk)
        workflow.dispatch_incident(actor=dispatcher, incident_id=incident.pk)
        cases.append(workflow.take_incident(actor=worker, incident_id=incident.pk))
    return cases


def test_pending_list_and_backlog_list_cost_the_same_for_one_or_three_rows(
    make_incident, dispatcher, worker, client, api_client
):
    client.force_login(dispatcher)
    api_client.force_authenticate(dispatcher)
    first = _handling_cases(make_incident, dispatcher, worker, 4)
    ask(first[0], worker)
    backlog_place(
        actor=dispatcher, incident_id=first[1].pk, reason="涉及历史遗留问题", review_on=date(2026, 12, 25)
    )
    urls = [
        "/incidents/extensions/",
        "/incidents/backlog/",
        "/api/incident-extensions/?state=pending",
        "/api/incident-backlog/?state=active",
    ]
    one = [_queries(client if u.startswith("/incidents") else api_client, u) for u in urls]
    ask(first[2], worker)
    ask(first[3], worker)
    for incident in _handling_cases(make_incident, dispatcher, worker, 2):
        backlog_place(
            actor=dispatcher, incident_id=incident.pk, reason="待上级协调", review_on=date(2026, 12, 1)
        )
    three = [_queries(client if u.startswith("/incidents") else api_client, u) for u in urls]
    assert one == three, (one, three)
    page = client.get("/incidents/extensions/").content.decode()
    assert page.count('class="incident-row"') == 3


def test_the_lists_are_scoped(handling, worker, dispatcher, far_dispatcher, client):
    ask(handling, worker)
    client.force_login(far_dispatcher)
    assert 'class="incident-row"' not in client.get("/incidents/extensions/").content.decode()
    client.force_login(worker)
    assert client.get("/incidents/extensions/").status_code == 403  # the centre's list


# -- 挂账 ------------------------------------------------------------------------------------------


def test_a_backlog_case_leaves_the_escalation_and_is_flagged_once_at_review(
    handling, dispatcher, worker, clock
):
    entry = backlog_place(
        actor=dispatcher, incident_id=handling.pk, reason="涉及历史遗留问题", review_on=date(2026, 12, 7)
    )
    fresh = Incident.objects.get(pk=handling.pk)
    assert fresh.due_at is None and fresh.next_escalation_at is None
    assert escalate_overdue(now=local(2026, 12, 31, 10, 0)) == 0  # long past the old deadline
    assert Incident.objects.get(pk=handling.pk).escalation_level == 0
    with pytest.raises(ValidationError):  # no deadline to extend while on the backlog
        ask(handling, worker)
    assert review_backlog(now=local(2026, 12, 6, 23, 59)) == 0
    assert review_backlog(now=local(2026, 12, 7, 0, 1)) == 1
    assert review_backlog(now=local(2026, 12, 8, 0, 1)) == 0  # once
    entry.refresh_from_db()
    assert entry.review_flagged_at is not None and entry.review_alert_at is None
    assert (
        Notification.objects.filter(
            recipient=dispatcher, incident=handling, kind=Notification.Kind.BACKLOG_REVIEW
        ).count()
        == 1
    )
    clock.move_to(local(2026, 12, 7, 10, 0))
    backlog_lift(actor=dispatcher, incident_id=handling.pk, note="已协调")
    fresh = Incident.objects.get(pk=handling.pk)
    assert fresh.due_at == local(2026, 12, 8, 10, 0) or abs(
        fresh.due_at - local(2026, 12, 8, 10, 0)
    ) < timedelta(seconds=5)
    assert fresh.next_escalation_at == fresh.due_at  # back in the escalation queue
    assert BacklogEntry.objects.get().state == "lifted"


def test_a_review_of_a_case_that_moved_on_ends_the_entry(handling, dispatcher, worker):
    backlog_place(actor=dispatcher, incident_id=handling.pk, reason="待协调", review_on=date(2026, 12, 7))
    workflow.report_handled(actor=worker, incident_id=handling.pk, note="已处理")
    assert review_backlog(now=local(2026, 12, 7, 1, 0)) == 0
    assert BacklogEntry.objects.get().state == "ended"


@pytest.mark.parametrize("review_on", [date(2026, 11, 25), date(2028, 1, 1), "2026-12-01", None])
def test_bad_backlog_placements_write_nothing(handling, dispatcher, review_on):
    before = state(handling)
    with pytest.raises(ValidationError):
        backlog_place(actor=dispatcher, incident_id=handling.pk, reason="待协调", review_on=review_on)
    with pytest.raises(ValidationError):
        backlog_place(actor=dispatcher, incident_id=handling.pk, reason=" ", review_on=date(2026, 12, 7))
    assert state(handling) == before


def test_who_may_put_on_and_take_off_the_backlog(
    handling, worker, dispatcher, far_dispatcher, client, api_client
):
    before = state(handling)
    with pytest.raises(NotPermitted):
        backlog_place(actor=worker, incident_id=handling.pk, reason="x", review_on=date(2026, 12, 7))
    with pytest.raises(NotFound):
        backlog_place(actor=far_dispatcher, incident_id=handling.pk, reason="x", review_on=date(2026, 12, 7))
    ask(handling, worker)
    with pytest.raises(Conflict):  # a pending 延期 is decided first
        backlog_place(actor=dispatcher, incident_id=handling.pk, reason="x", review_on=date(2026, 12, 7))
    ExtensionRequest.objects.all().delete()
    before = state(handling)
    client.force_login(worker)
    client.post(f"/incidents/{handling.pk}/backlog/place/", {"reason": "x", "review_on": "2026-12-07"})
    client.force_login(far_dispatcher)
    assert (
        client.post(
            f"/incidents/{handling.pk}/backlog/place/", {"reason": "x", "review_on": "2026-12-07"}
        ).status_code
        == 404
    )
    client.force_login(dispatcher)
    client.post(f"/incidents/{handling.pk}/backlog/place/", {"reason": "x", "review_on": "12/07/2026"})
    assert state(handling) == before
    client.post(
        f"/incidents/{handling.pk}/backlog/place/", {"reason": "涉及历史遗留问题", "review_on": "2026-12-07"}
    )
    entry = BacklogEntry.objects.get()
    page = client.get("/incidents/backlog/").content.decode()
    assert f'data-id="{handling.pk}"' in page
    # Taking off: the API, by the centre only, with a deadline in the future.
    api_client.force_authenticate(far_dispatcher)
    assert api_client.post(f"/api/incident-backlog/{entry.pk}/lift/", {}, format="json").status_code == 404
    api_client.force_authenticate(worker)
    assert api_client.post(f"/api/incident-backlog/{entry.pk}/lift/", {}, format="json").status_code == 403
    api_client.force_authenticate(dispatcher)
    past = {"due_at": "2026-11-01T10:00:00+08:00"}
    assert api_client.post(f"/api/incident-backlog/{entry.pk}/lift/", past, format="json").status_code == 400
    lifted = api_client.post(
        f"/api/incident-backlog/{entry.pk}/lift/", {"due_at": "2026-12-10T17:00:00+08:00"}, format="json"
    )
    assert lifted.status_code == 200 and lifted.json()["state"] == "lifted"
    assert Incident.objects.get(pk=handling.pk).due_at == local(2026, 12, 10, 17, 0)
    assert api_client.post(f"/api/incident-backlog/{entry.pk}/lift/", {}, format="json").status_code == 400
    # And on again through the API.
    placed = api_client.post(
        "/api/incident-backlog/",
        {"incident": handling.pk, "reason": "再次挂账", "review_on": "2027-01-05"},
        format="json",
    )
    assert placed.status_code == 201, placed.content


def test_the_admin_shows_extensions_and_backlog_read_only(handling, worker, client):
    ask(handling, worker)
    admin = user_for_role(Role.ADMIN)
    client.force_login(admin)
    assert client.get("/admin/incidents/extensionrequest/").status_code == 200
    assert client.get("/admin/incidents/backlogentry/").status_code == 200
    assert client.post("/admin/incidents/extensionrequest/add/", {}).status_code == 403
    extension = ExtensionRequest.objects.get()
    assert (
        client.post(f"/admin/incidents/extensionrequest/{extension.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert ExtensionRequest.objects.count() == 1


def test_a_recorded_review_keeps_the_case_on_the_backlog_until_the_next_date(
    handling, dispatcher, far_dispatcher, worker, api_client
):
    entry = backlog_place(
        actor=dispatcher, incident_id=handling.pk, reason="待协调", review_on=date(2026, 12, 7)
    )
    assert review_backlog(now=local(2026, 12, 7, 0, 1)) == 1
    before = state(handling)
    with pytest.raises(NotPermitted):
        backlog_review(actor=worker, incident_id=handling.pk, note="x", review_on=date(2027, 1, 7))
    with pytest.raises(NotFound):
        backlog_review(actor=far_dispatcher, incident_id=handling.pk, note="x", review_on=date(2027, 1, 7))
    for note, day in (("", date(2027, 1, 7)), ("x", date(2026, 11, 1)), ("x", None)):
        with pytest.raises(ValidationError):
            backlog_review(actor=dispatcher, incident_id=handling.pk, note=note, review_on=day)
    assert state(handling) == before
    api_client.force_authenticate(dispatcher)
    url = f"/api/incident-backlog/{entry.pk}/review/"
    assert (
        api_client.post(url, {"note": "已约谈", "review_on": "2027-13-01"}, format="json").status_code == 400
    )
    answer = api_client.post(url, {"note": "已约谈当事人", "review_on": "2027-01-07"}, format="json")
    assert answer.status_code == 200 and answer.json()["review_on"] == "2027-01-07"
    entry.refresh_from_db()
    assert entry.review_flagged_at is None and entry.state == "active"
    assert review_backlog(now=local(2027, 1, 6, 23, 0)) == 0
    assert review_backlog(now=local(2027, 1, 7, 0, 1)) == 1  # flagged again at the next date
    api_client.force_authenticate(far_dispatcher)
    assert api_client.post(url, {"note": "x", "review_on": "2027-02-07"}, format="json").status_code == 404


def test_the_centres_home_lists_extensions_to_decide_and_backlog_reviews_due_and_nobody_elses(
    handling, worker, dispatcher, far_dispatcher, client, clock
):
    def home(user) -> str:
        client.force_login(user)
        return client.get("/").content.decode()

    ask(handling, worker)
    page = home(dispatcher)
    assert 'data-testid="inbox-extensions-count">1<' in page and f"#{handling.pk}" in page
    assert 'data-testid="inbox-backlog_review-count">0<' in page
    assert 'data-testid="inbox-extensions-count">0<' in home(far_dispatcher)  # another county's centre
    assert "inbox-extensions" not in home(worker)  # a handling unit does not decide
    decide_extension(
        actor=dispatcher,
        extension_id=ExtensionRequest.objects.get(incident=handling).pk,
        approve=False,
        note="期限内可办结",
    )
    backlog_place(
        actor=dispatcher, incident_id=handling.pk, reason="需跨部门协调", review_on=date(2026, 12, 7)
    )
    assert 'data-testid="inbox-backlog_review-count">0<' in home(dispatcher)  # not yet
    clock.move_to(local(2026, 12, 7, 9, 0))
    page = home(dispatcher)
    assert 'data-testid="inbox-extensions-count">0<' in page
    assert 'data-testid="inbox-backlog_review-count">1<' in page
