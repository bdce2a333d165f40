"""The mediation app's command boundary, tried as an attacker would: every command through every
door it has (service, page, API, admin) with an actor out of scope and with a role lacking the
capability, and nothing written; then the side doors of issue #12, each shown closed."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.roles import Role
from anshun.commands import COMMANDS, SYSTEM_COMMANDS, NotFound, NotPermitted
from anshun.scoping import UNSCOPED_READS
from grids.models import Region
from mediation import seed, selectors, services
from mediation.models import (
    CaseEvent,
    CommitteeMembership,
    Consultation,
    DeadlineNotice,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    LitigationRepresentation,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
    Party,
    ReceptionDay,
)
from mediation.policy import POLICY
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
XIXIU, PINGBA = "520402", "520403"


def _admin():
    return user_for_role(Role.ADMIN)


@pytest.fixture
def outsider(committees):
    """A 西秀 mediator who sits on another committee: the traffic committee's cases are out of sight."""
    user = user_for_role(Role.MEDIATOR, region=Region.objects.get(code=XIXIU))
    medical = MediationCommittee.objects.get(dispute_type="医患纠纷")
    services.membership_add(actor=_admin(), committee=medical, user=user)
    return user


@pytest.fixture
def viewer(db):
    """A county official: sees the cases, holds no ``mediation.handle``."""
    return user_for_role(Role.COUNTY_OFFICIAL)


def _state(case):
    case = MediationCase.objects.get(pk=case.pk)
    return (
        CaseEvent.objects.filter(case=case).count(),
        Party.objects.filter(case=case).count(),
        MediationSession.objects.filter(case=case).count(),
        MediationAgreement.objects.filter(case=case).values_list("performance").first(),
        JudicialConfirmation.objects.filter(agreement__case=case).values_list("decision", "ruled_on").first(),
        (case.status, case.mediator_id, case.extension_days),
    )


CASE_COMMANDS = {
    "party_add": {"party": services.PartyInput(name="王五")},
    "mediator_assign": {"mediator": None},
    "mediation_extend": {"days": 5, "reason": "当事人外出"},
    "session_record": {"held_at": datetime(2026, 3, 2, 9, tzinfo=SHANGHAI), "place": "p", "attendees": "a"},
    "agreement_record": {"terms": "t", "signed_on": date(2026, 3, 5)},
    "case_close": {"status": "withdrawn", "closed_on": date(2026, 3, 5)},
    "performance_record": {"performance": "performed", "checked_on": date(2026, 3, 9)},
    "confirmation_apply": {"court": "法院", "applied_on": date(2026, 3, 6)},
    "confirmation_decide": {"accepted": True, "decided_on": date(2026, 3, 7)},
    "confirmation_extend": {"reason": "核实"},
    "ruling_record": {"ruled_on": date(2026, 3, 8), "ruling_number": "n", "confirmed": True},
}


@pytest.fixture
def agreed_case(open_case, mediator):
    """A case with an agreement awaiting the court, so that every step has something to act on."""
    case = open_case(intake=date(2026, 3, 1))
    services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 4))
    services.confirmation_apply(actor=mediator, case=case, court="法院", applied_on=date(2026, 3, 5))
    return case


@pytest.mark.parametrize("name", sorted(CASE_COMMANDS))
def test_case_commands_refuse_outsiders_and_roles_without_the_capability(
    name, agreed_case, outsider, viewer, mediator
):
    command = COMMANDS[f"mediation.{name}"]
    before = _state(agreed_case)
    for case in (agreed_case, agreed_case.pk):  # an instance or its id: the same check
        with pytest.raises(NotFound):
            command(actor=outsider, case=case, **CASE_COMMANDS[name])
        with pytest.raises(NotPermitted):
            command(actor=viewer, case=case, **CASE_COMMANDS[name])
        with pytest.raises(NotPermitted):
            command(actor=None, case=case, **CASE_COMMANDS[name])
    with pytest.raises(NotFound):  # an id that does not exist: the same answer as one out of sight
        command(actor=mediator, case=2**31 - 1, **CASE_COMMANDS[name])
    assert _state(agreed_case) == before


PAGE_ACTIONS = {
    "session": {"held_at": "2026-03-02T09:00", "place": "p", "attendees": "a"},
    "agreement": {"terms": "t", "signed_on": "2026-03-05"},
    "close": {"status": "withdrawn", "closed_on": "2026-03-05"},
    "extend": {"days": "5", "reason": "r"},
    "party": {"name": "王五", "side": "applicant", "kind": "person"},
    "assign": {"unassign": "1"},
    "confirmation-apply": {"court": "法院", "applied_on": "2026-03-06"},
    "confirmation-decide": {"accepted": "1", "decided_on": "2026-03-07"},
    "confirmation-extend": {"reason": "r"},
    "ruling": {"ruled_on": "2026-03-08", "ruling_number": "n", "confirmed": "1"},
    "performance": {"performance": "performed", "checked_on": "2026-03-09"},
}


def test_every_case_page_action_refuses_outsiders_and_viewers(client, agreed_case, outsider, viewer):
    before = _state(agreed_case)
    for action, data in PAGE_ACTIONS.items():
        url = reverse("mediation:case-action", args=[agreed_case.pk, action])
        client.force_login(outsider)
        assert client.post(url, data).status_code == 404, action
        client.force_login(viewer)
        assert client.post(url, data).status_code == 403, action
    assert _state(agreed_case) == before


API_STEPS = {
    "agreement": {"terms": "t", "signed_on": "2026-03-05"},
    "close": {"status": "withdrawn", "closed_on": "2026-03-05"},
    "extend": {"days": 5, "reason": "r"},
    "confirmation": {"court": "法院", "applied_on": "2026-03-06"},
    "confirmation-decision": {"accepted": True, "decided_on": "2026-03-07"},
    "confirmation-extension": {"reason": "r"},
    "ruling": {"ruled_on": "2026-03-08", "ruling_number": "n", "confirmed": True},
}


def test_every_case_api_step_refuses_outsiders_and_viewers(api_client, agreed_case, outsider, viewer):
    before = _state(agreed_case)
    for name, payload in API_STEPS.items():
        url = reverse(f"mediation-case-{name}", args=[agreed_case.pk])
        api_client.force_authenticate(outsider)
        assert api_client.post(url, payload, format="json").status_code == 404, name
        api_client.force_authenticate(viewer)
        assert api_client.post(url, payload, format="json").status_code == 403, name
    session = {"held_at": "2026-03-02T09:00:00+08:00", "place": "p", "attendees": "a"}
    api_client.force_authenticate(outsider)
    hidden = api_client.post(
        reverse("mediation-session-list"), {**session, "case": agreed_case.pk}, format="json"
    )
    missing = api_client.post(
        reverse("mediation-session-list"), {**session, "case": 2**31 - 1}, format="json"
    )
    assert (
        (hidden.status_code, hidden.json()) == (missing.status_code, missing.json()) == (404, missing.json())
    )
    api_client.force_authenticate(viewer)
    assert (
        api_client.post(
            reverse("mediation-session-list"), {**session, "case": agreed_case.pk}, format="json"
        ).status_code
        == 403
    )
    assert _state(agreed_case) == before


def _intake(committee, region, **extra):
    return {
        "committee": committee,
        "region": region,
        "dispute_type": "道路交通事故",
        "summary": "s",
        "intake_date": date(2026, 3, 1),
        "parties": [services.PartyInput(name="甲")],
        **extra,
    }


def test_case_open_refuses_other_committees_places_out_of_sight_and_roles_without_it(
    traffic, mediator, outsider, viewer, dongguan_village
):
    before = MediationCase.objects.count()
    with pytest.raises(NotPermitted):
        services.case_open(actor=viewer, **_intake(traffic, dongguan_village))
    # A committee the mediator does not sit on: the case would land in a caseload they cannot see.
    with pytest.raises(ValidationError) as error:
        services.case_open(actor=outsider, **_intake(traffic, dongguan_village))
    assert "committee" in error.value.message_dict
    pingba_village = Region.objects.filter(code__startswith=PINGBA, level="village").first()
    township_mediator = user_for_role(Role.MEDIATOR, region=Region.objects.get(code="520402005"))
    services.membership_add(actor=_admin(), committee=traffic, user=township_mediator)
    with pytest.raises(ValidationError) as error:
        services.case_open(actor=township_mediator, **_intake(traffic, pingba_village))
    assert error.value.message_dict == {"region": ["在您的辖区内未找到。"]}
    assert MediationCase.objects.count() == before
    services.case_open(actor=mediator, **_intake(traffic, dongguan_village))
    assert MediationCase.objects.count() == before + 1


def test_api_case_open_answers_alike_for_missing_and_hidden_things(api_client, traffic, mediator, committees):
    pingba_committee = MediationCommittee.objects.create(
        name="平坝某镇人民调解委员会",
        kind="township",
        region=Region.objects.filter(code__startswith=PINGBA, level="township").first(),
    )
    stranger = user_for_role(
        Role.COUNTY_OFFICIAL, region=Region.objects.get(code=PINGBA), display_name="秘密官员"
    )
    api_client.force_authenticate(mediator)
    url = reverse("mediation-case-list")
    base = {
        "committee": traffic.pk,
        "region": "520402005",
        "dispute_type": "d",
        "summary": "s",
        "intake_date": "2026-03-01",
        "parties": [{"name": "甲"}],
    }
    answers = {}
    for label, change in {
        "hidden committee": {"committee": pingba_committee.pk},
        "missing committee": {"committee": 2**31 - 1},
        "hidden region": {"region": PINGBA},
        "missing region": {"region": "999999"},
        "someone else as mediator": {"mediator": stranger.pk},
        "missing mediator": {"mediator": 2**31 - 1},
    }.items():
        response = api_client.post(url, {**base, **change}, format="json")
        assert response.status_code == 400, label
        answers[label] = response.json()
    assert answers["hidden committee"] == answers["missing committee"]
    assert answers["hidden region"] == answers["missing region"]
    assert answers["someone else as mediator"] == answers["missing mediator"]
    text = str(answers["someone else as mediator"])
    assert stranger.username not in text and "秘密官员" not in text and "县" not in text
    assert not MediationCase.objects.exists()


# --- incident referral -------------------------------------------------------------------------


@pytest.fixture
def pingba_committee(committees):
    township = Region.objects.filter(code__startswith=PINGBA, level="township").order_by("code").first()
    return MediationCommittee.objects.create(name="平坝某镇人民调解委员会", kind="township", region=township)


def test_an_incident_goes_only_to_a_committee_serving_its_place(
    client, traffic, make_incident, pingba_committee, committees
):
    incident = make_incident()
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)
    # Reproduced: another county's committee was accepted.
    with pytest.raises(ValidationError) as error:
        services.incident_refer(actor=official, incident=incident, committee=pingba_committee)
    assert "committee" in error.value.message_dict
    other_township = committees.filter(kind="township").exclude(region__code="520402005").first()
    with pytest.raises(ValidationError):
        services.incident_refer(actor=official, incident=incident, committee=other_township)
    assert not MediationCase.objects.exists()
    # The page: a committee id that does not exist is answered like one that does not serve.
    client.force_login(official)
    answers = []
    for committee_id in (pingba_committee.pk, 2**31 - 1, "99999999999999999999"):
        response = client.post(
            reverse("mediation:refer"), {"incident": incident.pk, "committee": committee_id}, follow=True
        )
        answers.append(
            [str(m) for m in response.context["messages"]] if response.context else response.status_code
        )
    assert answers[0] == answers[1]
    assert not MediationCase.objects.exists()
    # What the panel offers is what the service accepts.
    county = MediationCommittee.objects.create(
        name="西秀区人民调解委员会", kind="township", region=Region.objects.get(code=XIXIU)
    )
    offered = set(selectors.committees_for_incident(actor=official, incident=incident))
    own = committees.get(kind="township", region__code="520402005")
    assert {traffic, own, county} <= offered
    assert pingba_committee not in offered and other_township not in offered
    assert all(services.committee_serves(committee=c, place=incident.grid.village) for c in offered)
    case = services.incident_refer(actor=official, incident=incident, committee=county)
    assert case.committee == county


def test_incident_refer_refuses_incidents_out_of_sight_and_roles_without_it(
    client, traffic, make_incident, pingba_committee
):
    pingba_village = Region.objects.filter(code__startswith=PINGBA, level="village").order_by("code").first()
    incident = make_incident(village_code=pingba_village.code)
    official = user_for_role(Role.TOWNSHIP_OFFICIAL)  # 东关街道
    with pytest.raises(NotFound):
        services.incident_refer(actor=official, incident=incident, committee=traffic)
    with pytest.raises(NotPermitted):
        services.incident_refer(
            actor=user_for_role(Role.COUNTY_OFFICIAL), incident=incident, committee=traffic
        )
    client.force_login(official)
    assert (
        client.post(
            reverse("mediation:refer"), {"incident": incident.pk, "committee": traffic.pk}
        ).status_code
        == 404
    )
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL))
    assert (
        client.post(
            reverse("mediation:refer"), {"incident": incident.pk, "committee": traffic.pk}
        ).status_code
        == 403
    )
    assert not MediationCase.objects.exists()


# --- the case page's assign action ------------------------------------------------------------


def test_an_unknown_mediator_id_on_assign_is_a_field_error_and_changes_nothing(client, open_case, mediator):
    case = open_case()
    stranger = user_for_role(Role.MEDIATOR, display_name="无关调解员")
    url = reverse("mediation:case-action", args=[case.pk, "assign"])
    client.force_login(mediator)
    for bad in ("999999", str(stranger.pk), "", "abc"):
        before = _state(case)
        response = client.post(url, {"mediator": bad}, follow=True)
        levels = [m.level_tag for m in response.context["messages"]]
        assert levels == ["error"], (bad, levels)
        assert stranger.username not in response.content.decode()
        assert _state(case) == before, bad
    # Un-assigning is an explicit choice.
    client.post(url, {"unassign": "1"})
    case.refresh_from_db()
    assert case.mediator is None
    assert CaseEvent.objects.filter(case=case, kind="unassigned").exists()
    client.post(url, {"mediator": mediator.pk})
    case.refresh_from_db()
    assert case.mediator == mediator


def test_the_mediator_error_names_nobody(traffic, open_case, mediator):
    case = open_case()
    stranger = user_for_role(Role.CASE_OFFICER, display_name="个案专干甲")
    with pytest.raises(ValidationError) as error:
        services.mediator_assign(actor=mediator, case=case, mediator=stranger)
    text = str(error.value.message_dict)
    assert stranger.username not in text and "个案专干甲" not in text and str(traffic) not in text


# --- filters ----------------------------------------------------------------------------------


def test_id_filters_answer_alike_for_out_of_scope_and_missing(api_client, open_case, mediator, committees):
    open_case()
    seed.ensure_legal_centres()
    pingba_centre = LegalServiceCentre.objects.get(region__code=PINGBA)
    pingba_lawyer = user_for_role(Role.LAWYER, region=pingba_centre.region)
    services.duty_assign(
        actor=pingba_lawyer, centre=pingba_centre, day=date(2026, 6, 1), lawyer=pingba_lawyer
    )
    medical = MediationCommittee.objects.get(dispute_type="医患纠纷")
    other_case = services.case_open(
        actor=user_for_role(Role.ADMIN),
        **_intake(medical, Region.objects.filter(code__startswith=PINGBA, level="village").first()),
    )
    xixiu_lawyer = user_for_role(Role.LAWYER, region=Region.objects.get(code=XIXIU))
    probes = [
        (mediator, "mediation-case-list", "committee", medical.pk),
        (mediator, "mediation-session-list", "case", other_case.pk),
        (xixiu_lawyer, "legal-roster-list", "centre", pingba_centre.pk),
        (xixiu_lawyer, "legal-roster-list", "lawyer", pingba_lawyer.pk),
    ]
    for user, basename, name, hidden in probes:
        api_client.force_authenticate(user)
        seen = api_client.get(reverse(basename), {name: hidden})
        missing = api_client.get(reverse(basename), {name: 2**31 - 1})
        assert (seen.status_code, seen.json()) == (missing.status_code, missing.json()), (basename, name)
        assert seen.status_code == 200 and seen.json()["results"] == []
        too_big = api_client.get(reverse(basename), {name: 2**40})
        assert too_big.status_code == 400 and name in too_big.json()


# --- legal services ---------------------------------------------------------------------------


@pytest.fixture
def legal(db):
    seed.ensure_legal_centres()
    xixiu = LegalServiceCentre.objects.get(region__code=XIXIU)
    pingba = LegalServiceCentre.objects.get(region__code=PINGBA)
    return {
        "xixiu": xixiu,
        "pingba": pingba,
        "xixiu_lawyer": user_for_role(Role.LAWYER, region=xixiu.region),
        "pingba_lawyer": user_for_role(Role.LAWYER, region=pingba.region),
    }


def _legal_counts():
    return (
        Consultation.objects.count(),
        LegalAidApplication.objects.count(),
        LitigationRepresentation.objects.count(),
        ReceptionDay.objects.count(),
        DutyShift.objects.count(),
    )


def test_legal_commands_refuse_centres_out_of_sight_and_roles_without_them(legal, mediator):
    lawyer, elsewhere = legal["xixiu_lawyer"], legal["pingba"]
    calls = {
        "consultation_record": {"topic": "t"},
        "legal_aid_apply": {"applicant_name": "a", "matter": "m", "applied_on": date(2026, 5, 1)},
        "representation_open": {
            "client_name": "c",
            "cause": "x",
            "court": "y",
            "accepted_on": date(2026, 5, 1),
        },
        "reception_day_add": {"day": date(2026, 6, 1)},
        "duty_assign": {"day": date(2026, 6, 1), "lawyer": lawyer},
    }
    before = _legal_counts()
    for name, kwargs in calls.items():
        command = COMMANDS[f"mediation.{name}"]
        with pytest.raises(ValidationError) as error:
            command(actor=lawyer, centre=elsewhere, **kwargs)
        assert error.value.message_dict == {"centre": ["在您的辖区内未找到。"]}, name
        with pytest.raises(NotPermitted):
            command(actor=mediator, centre=legal["xixiu"], **kwargs)
    assert _legal_counts() == before
    application = services.legal_aid_apply(
        actor=legal["pingba_lawyer"],
        centre=elsewhere,
        applicant_name="a",
        matter="m",
        applied_on=date(2026, 5, 1),
    )
    with pytest.raises(NotFound):
        services.legal_aid_decide(
            actor=lawyer, application=application, eligible=False, reason="r", decided_on=date(2026, 5, 2)
        )
    with pytest.raises(ValidationError) as error:  # a lawyer of another county cannot be assigned
        services.legal_aid_decide(
            actor=legal["pingba_lawyer"],
            application=application,
            eligible=True,
            reason="r",
            decided_on=date(2026, 5, 2),
            lawyer=lawyer,
        )
    assert "assigned_lawyer" in error.value.message_dict
    application.refresh_from_db()
    assert application.eligibility == "pending"


def test_no_cross_county_roster_bookings_through_any_door(client, api_client, legal):
    xixiu_lawyer, pingba_lawyer = legal["xixiu_lawyer"], legal["pingba_lawyer"]
    city_scheduler = user_for_role(Role.LAWYER, region=Region.objects.get(code="5204"))
    day = date(2026, 6, 1)
    # Reproduced: a 西秀 lawyer booked on 平坝's roster by a city-wide scheduler.
    with pytest.raises(ValidationError) as error:
        services.duty_assign(actor=city_scheduler, centre=legal["pingba"], day=day, lawyer=xixiu_lawyer)
    assert "lawyer" in error.value.message_dict
    # A roster manager books a lawyer of another county at their own centre.
    with pytest.raises(ValidationError):
        services.duty_assign(actor=xixiu_lawyer, centre=legal["xixiu"], day=day, lawyer=pingba_lawyer)
    # The API: another county's lawyer is answered like an id that does not exist.
    api_client.force_authenticate(xixiu_lawyer)
    url = reverse("legal-roster-list")
    hidden = api_client.post(
        url, {"centre": legal["xixiu"].pk, "date": "2026-06-01", "lawyer": pingba_lawyer.pk}
    )
    missing = api_client.post(url, {"centre": legal["xixiu"].pk, "date": "2026-06-01", "lawyer": 2**31 - 1})
    assert hidden.status_code == missing.status_code == 400 and hidden.json() == missing.json()
    hidden_centre = api_client.post(
        url, {"centre": legal["pingba"].pk, "date": "2026-06-01", "lawyer": xixiu_lawyer.pk}
    )
    missing_centre = api_client.post(
        url, {"centre": 2**31 - 1, "date": "2026-06-01", "lawyer": xixiu_lawyer.pk}
    )
    assert hidden_centre.status_code == 400 and hidden_centre.json() == missing_centre.json()
    api_client.force_authenticate(user_for_role(Role.COUNTY_OFFICIAL))
    assert (
        api_client.post(
            url, {"centre": legal["xixiu"].pk, "date": "2026-06-01", "lawyer": xixiu_lawyer.pk}
        ).status_code
        == 403
    )
    # The page.
    client.force_login(xixiu_lawyer)
    client.post(
        reverse("mediation:roster"),
        {"shift": "1", "centre": legal["xixiu"].pk, "day": "2026-06-01", "lawyer": pingba_lawyer.pk},
    )
    client.post(
        reverse("mediation:roster"),
        {"shift": "1", "centre": legal["pingba"].pk, "day": "2026-06-01", "lawyer": xixiu_lawyer.pk},
    )
    client.force_login(user_for_role(Role.MEDIATOR))
    assert (
        client.post(
            reverse("mediation:roster"),
            {"shift": "1", "centre": legal["xixiu"].pk, "day": "2026-06-01", "lawyer": xixiu_lawyer.pk},
        ).status_code
        == 403
    )
    assert not DutyShift.objects.exists()
    # The honest booking still works.
    services.duty_assign(actor=city_scheduler, centre=legal["xixiu"], day=day, lawyer=xixiu_lawyer)
    assert DutyShift.objects.count() == 1


def test_the_legal_desk_refuses_other_counties_and_other_roles(client, legal):
    client.force_login(legal["xixiu_lawyer"])
    url = reverse("mediation:legal")
    client.post(url, {"form": "consultation", "centre": legal["pingba"].pk, "topic": "t"})
    client.post(
        url,
        {
            "form": "aid",
            "centre": legal["pingba"].pk,
            "applicant_name": "a",
            "matter": "m",
            "applied_on": "2026-05-01",
        },
    )
    client.post(
        url,
        {
            "form": "representation",
            "centre": legal["pingba"].pk,
            "client_name": "c",
            "cause": "x",
            "court": "y",
            "accepted_on": "2026-05-01",
        },
    )
    client.force_login(user_for_role(Role.MEDIATOR))
    assert (
        client.post(url, {"form": "consultation", "centre": legal["xixiu"].pk, "topic": "t"}).status_code
        == 403
    )
    assert _legal_counts() == (0, 0, 0, 0, 0)


# --- notices, seats, the admin, the beat job ------------------------------------------------------


def test_a_notice_is_marked_read_only_by_its_recipient(client, open_case, mediator):
    from django.utils import timezone

    case = open_case(intake=timezone.localdate().replace(day=1).replace(year=2020))
    services.deadlines_check()
    notice = DeadlineNotice.objects.filter(case=case).first()
    other = user_for_role(Role.MEDIATOR)
    with pytest.raises(NotFound):
        services.notice_mark_read(actor=other, notice_id=notice.pk)
    with pytest.raises(NotPermitted):
        services.notice_mark_read(actor=user_for_role(Role.LAWYER), notice_id=notice.pk)
    client.force_login(other)
    assert client.post(reverse("mediation:notice-read", args=[notice.pk])).status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
    assert services.notice_mark_read(actor=mediator, notice_id=notice.pk) == 1


def test_only_an_administrator_seats_mediators_through_service_and_admin(client, traffic, mediator, outsider):
    newcomer = user_for_role(Role.MEDIATOR)
    own = MediationCommittee.objects.get(kind="township", region__code="520402005")
    township_mediator = user_for_role(Role.MEDIATOR)  # 东关街道: sees its committee, may not seat
    for actor in (township_mediator, user_for_role(Role.COUNTY_OFFICIAL), None):
        with pytest.raises(NotPermitted):
            services.membership_add(actor=actor, committee=own, user=newcomer)
    with pytest.raises(NotFound):  # the city's committee is not in a 西秀 mediator's jurisdiction
        services.membership_add(actor=mediator, committee=traffic, user=newcomer)
    # The admin door: a staff account of a mediator, even holding the model permission, is refused.
    staff_mediator = user_for_role(Role.MEDIATOR)
    staff_mediator.is_staff = True
    staff_mediator.save(update_fields=["is_staff"])
    staff_mediator.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_committeemembership", "view_committeemembership"])
    )
    client.force_login(staff_mediator)
    add_url = reverse("admin:mediation_committeemembership_add")
    form = {"committee": own.pk, "user": newcomer.pk, "speciality": "", "is_active": "on"}
    assert client.post(add_url, form).status_code == 403
    assert not CommitteeMembership.objects.filter(user=newcomer).exists()
    # Nothing else is written in the admin: cases, the roster and the legal desk are read-only there.
    admin = _admin()
    client.force_login(admin)
    response = client.post(add_url, form)
    assert response.status_code == 302
    assert CommitteeMembership.objects.filter(user=newcomer, committee=own, is_active=True).exists()
    lawyer = user_for_role(Role.LAWYER)
    bad = client.post(add_url, {**form, "user": lawyer.pk}, follow=True)
    assert not CommitteeMembership.objects.filter(user=lawyer).exists()
    assert "error" in [m.level_tag for m in bad.context["messages"]]
    for model in (
        "mediationcase",
        "dutyshift",
        "receptionday",
        "consultation",
        "legalaidapplication",
        "judicialconfirmation",
        "mediationcommittee",
        "legalservicecentre",
    ):
        assert client.get(reverse(f"admin:mediation_{model}_add")).status_code == 403, model


def test_case_admin_cannot_change_a_case(client, open_case):
    case = open_case()
    client.force_login(_admin())
    url = reverse("admin:mediation_mediationcase_change", args=[case.pk])
    assert client.get(url).status_code == 200  # view only
    before = _state(case)
    client.post(url, {"status": "withdrawn", "summary": "改了"})
    assert (
        client.post(
            reverse("admin:mediation_mediationcase_delete", args=[case.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert _state(case) == before and MediationCase.objects.get(pk=case.pk).summary != "改了"


def test_the_policy_table_covers_every_write_and_marks_the_beat_job():
    import mediation.demo  # noqa: F401 - registers the loader's marker

    names = {name.split(".", 1)[1] for name in COMMANDS if name.startswith("mediation.")}
    assert names == set(POLICY.rules)
    for name in names:
        rule = POLICY.rule(name)
        assert rule.target or rule.refers, name  # the access matrix can probe each one
    assert "mediation.services.deadlines_check" in SYSTEM_COMMANDS
    assert "mediation.demo.load_demo" in SYSTEM_COMMANDS


def test_the_professional_widening_is_marked_with_its_reason(committees):
    selectors.committees_visible_to(actor=user_for_role(Role.TOWNSHIP_OFFICIAL))
    assert any(
        model == "MediationCommittee" and "Professional committees" in why for model, why in UNSCOPED_READS
    )
