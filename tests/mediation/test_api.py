"""REST endpoints: the role × endpoint scoping matrix, constant query counts, and bad input as 400s."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import Role
from grids.models import Region
from mediation import seed, services
from mediation.models import (
    Consultation,
    DutyShift,
    JudicialConfirmation,
    LegalAidApplication,
    LegalServiceCentre,
    MediationAgreement,
    MediationCase,
    MediationCommittee,
    MediationSession,
)
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _village(township_code: str) -> Region:
    return Region.objects.filter(parent__code=township_code).order_by("code").first()


@pytest.fixture
def world(committees):
    """Cases in 东关街道 and another 西秀 township (traffic committee) and in 平坝 (medical),
    with sessions, agreements, confirmations; legal-service records in 西秀 and 平坝."""
    xixiu, pingba = Region.objects.get(code="520402"), Region.objects.get(code="520403")
    seed.ensure_township_committees(within="520403")
    seed.ensure_legal_centres()
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    medical = MediationCommittee.objects.get(dispute_type="医患纠纷")
    traffic_mediator = user_for_role(Role.MEDIATOR, region=xixiu)
    medical_mediator = user_for_role(Role.MEDIATOR, region=Region.objects.get(code="5204"))
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=traffic, user=traffic_mediator, speciality="道路交通事故"
    )
    services.membership_add(
        actor=user_for_role(Role.ADMIN), committee=medical, user=medical_mediator, speciality="医患纠纷"
    )
    other_township = (
        Region.objects.filter(parent=xixiu, level="township").exclude(code="520402005").order_by("code")[0]
    )
    pingba_township = Region.objects.filter(parent=pingba, level="township").order_by("code")[0]
    places = [
        ("dongguan", traffic, traffic_mediator, _village("520402005")),
        ("xixiu_other", traffic, traffic_mediator, _village(other_township.code)),
        ("pingba", medical, medical_mediator, _village(pingba_township.code)),
    ]
    cases = {}
    for key, committee, mediator, village in places:
        case = services.case_open(
            actor=mediator,
            committee=committee,
            region=village,
            dispute_type=committee.dispute_type,
            summary="s",
            intake_date=date(2026, 3, 1),
            parties=[services.PartyInput(name="甲"), services.PartyInput(name="乙", side="respondent")],
            mediator=mediator,
        )
        services.session_record(
            actor=mediator,
            case=case,
            held_at=datetime(2026, 3, 2, 9, tzinfo=SHANGHAI),
            place="p",
            attendees="a",
        )
        services.agreement_record(actor=mediator, case=case, terms="t", signed_on=date(2026, 3, 5))
        services.confirmation_apply(actor=mediator, case=case, court="法院", applied_on=date(2026, 3, 6))
        cases[key] = case
    lawyers = {}
    for key, county in (("xixiu", xixiu), ("pingba", pingba)):
        centre = LegalServiceCentre.objects.get(region=county)
        lawyer = user_for_role(Role.LAWYER, region=county)
        services.consultation_record(actor=lawyer, centre=centre, topic="t")
        services.legal_aid_apply(
            actor=lawyer, centre=centre, applicant_name="a", matter="m", applied_on=date(2026, 3, 1)
        )
        services.duty_assign(actor=lawyer, centre=centre, day=date(2026, 3, 2), lawyer=lawyer)
        lawyers[key] = lawyer
    return {
        "cases": cases,
        "users": {
            "traffic_mediator": traffic_mediator,
            "medical_mediator": medical_mediator,
            "township": user_for_role(Role.TOWNSHIP_OFFICIAL),  # 东关街道
            "county": user_for_role(Role.COUNTY_OFFICIAL),  # 西秀区
            "city": user_for_role(Role.CITY_OFFICIAL),
            "grid_worker": user_for_role(Role.GRID_WORKER),
            "xixiu_lawyer": lawyers["xixiu"],
            "pingba_lawyer": lawyers["pingba"],
            "admin": user_for_role(Role.ADMIN),
        },
    }


# Which cases each user sees; every case-linked endpoint follows the case.
CASES_SEEN = {
    "traffic_mediator": {"dongguan", "xixiu_other"},
    "medical_mediator": {"pingba"},
    "township": {"dongguan"},
    "county": {"dongguan", "xixiu_other"},
    "city": {"dongguan", "xixiu_other", "pingba"},
    "grid_worker": set(),
    "xixiu_lawyer": set(),
    "pingba_lawyer": set(),
    "admin": {"dongguan", "xixiu_other", "pingba"},
}
# Which counties' legal-service records each user sees.
LEGAL_SEEN = {
    "traffic_mediator": set(),
    "medical_mediator": set(),
    "township": set(),
    "county": set(),
    "city": set(),
    "grid_worker": set(),
    "xixiu_lawyer": {"520402"},
    "pingba_lawyer": {"520403"},
    "admin": {"520402", "520403"},
}

CASE_ENDPOINTS = {
    "mediation-case": lambda case: case.pk,
    "mediation-session": lambda case: MediationSession.objects.get(case=case).pk,
    "mediation-agreement": lambda case: MediationAgreement.objects.get(case=case).pk,
    "mediation-confirmation": lambda case: JudicialConfirmation.objects.get(agreement__case=case).pk,
}
LEGAL_ENDPOINTS = {
    "legal-consultation": Consultation,
    "legal-aid": LegalAidApplication,
    "legal-roster": DutyShift,
}


def _ids(api_client, basename):
    response = api_client.get(reverse(f"{basename}-list"), {"page_size": 1000})
    assert response.status_code == 200
    return {row["id"] for row in response.json()["results"]}


def _reads(user, basename) -> bool:
    """Whether the user's role holds the capability the route reads with (else every answer is 403)."""
    from anshun.api.router import router

    viewset = next(v for _prefix, v, name in router.registry if name == basename)
    return any(user.can(c) for c in viewset.read_capabilities())


@pytest.mark.parametrize("who", sorted(CASES_SEEN))
def test_role_by_endpoint_matrix(api_client, world, who):
    user = world["users"][who]
    api_client.force_authenticate(user)
    for basename, pk_of in CASE_ENDPOINTS.items():
        if not _reads(user, basename):
            assert not CASES_SEEN[who], basename
            assert api_client.get(reverse(f"{basename}-list")).status_code == 403
            for case in world["cases"].values():
                assert api_client.get(reverse(f"{basename}-detail", args=[pk_of(case)])).status_code == 403
            continue
        expected = {pk_of(world["cases"][key]) for key in CASES_SEEN[who]}
        assert _ids(api_client, basename) == expected, basename
        for key, case in world["cases"].items():
            status = api_client.get(reverse(f"{basename}-detail", args=[pk_of(case)])).status_code
            assert status == (200 if key in CASES_SEEN[who] else 404), (basename, key)
    for basename, model in LEGAL_ENDPOINTS.items():
        rows = model.objects.all()
        expected = {row.pk for row in rows if row.centre.region.code in LEGAL_SEEN[who]}
        if not _reads(user, basename):
            assert not expected, basename
            assert api_client.get(reverse(f"{basename}-list")).status_code == 403
            continue
        assert _ids(api_client, basename) == expected, basename
        for row in rows:
            status = api_client.get(reverse(f"{basename}-detail", args=[row.pk])).status_code
            assert status == (200 if row.pk in expected else 404), basename


def test_professional_committees_are_listed_for_everyone_in_the_city(api_client, world):
    api_client.force_authenticate(world["users"]["township"])
    rows = api_client.get(reverse("mediation-committee-list"), {"page_size": 1000}).json()["results"]
    kinds = {(row["kind"], row["region"]) for row in rows}
    assert ("professional", "5204") in kinds
    assert {row["region"] for row in rows if row["kind"] == "township"} == {"520402005"}
    assert sum(row["kind"] == "professional" for row in rows) == 9


ALL_LISTS = ["mediation-committee", *CASE_ENDPOINTS, *LEGAL_ENDPOINTS]


@pytest.mark.parametrize("basename", ALL_LISTS)
@pytest.mark.parametrize("who", ["admin", "traffic_mediator", "county"])
def test_list_query_count_is_constant_across_page_sizes(api_client, world, basename, who):
    api_client.force_authenticate(world["users"][who])
    url = reverse(f"{basename}-list")
    counts = {}
    for size in (1, 2, 1000):
        with CaptureQueriesContext(connection) as captured:
            assert api_client.get(url, {"page_size": size}).status_code == 200
        counts[size] = len(captured)
    assert len(set(counts.values())) == 1, counts
    assert counts[1] <= 4


def _case_payload(committee, **overrides):
    payload = {
        "committee": committee.pk,
        "region": "520402005",
        "dispute_type": "道路交通事故",
        "summary": "追尾",
        "intake_date": "2026-03-01",
        "parties": [{"name": "张三", "side": "applicant"}, {"name": "李四", "side": "respondent"}],
    }
    return {**payload, **overrides}


def test_a_mediator_opens_a_case_and_records_a_session(api_client, world):
    mediator = world["users"]["traffic_mediator"]
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    api_client.force_authenticate(mediator)
    response = api_client.post(
        reverse("mediation-case-list"), _case_payload(traffic, mediator=mediator.pk), format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [p["name"] for p in body["parties"]] == ["张三", "李四"]
    assert body["deadlines"] == [
        {"key": "mediation", "label": "调解办结", "due_on": "2026-03-31", "met_on": None}
    ]
    response = api_client.post(
        reverse("mediation-session-list"),
        {"case": body["id"], "held_at": "2026-03-02T10:00:00+08:00", "place": "调解室", "attendees": "双方"},
        format="json",
    )
    assert response.status_code == 201, response.json()


def test_bad_case_input_is_a_400_with_field_errors_and_nothing_written(api_client, world):
    mediator = world["users"]["traffic_mediator"]
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    medical_mediator = world["users"]["medical_mediator"]
    api_client.force_authenticate(mediator)
    before = MediationCase.objects.count()
    nameless = _case_payload(traffic, parties=[{"name": ""}])
    response = api_client.post(reverse("mediation-case-list"), nameless, format="json")
    assert response.status_code == 400 and "parties" in response.json()
    outsider = _case_payload(traffic, mediator=medical_mediator.pk)
    response = api_client.post(reverse("mediation-case-list"), outsider, format="json")
    assert response.status_code == 400 and "mediator" in response.json()
    assert MediationCase.objects.count() == before


def test_non_mediators_cannot_open_cases(api_client, world):
    api_client.force_authenticate(world["users"]["county"])
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    assert (
        api_client.post(reverse("mediation-case-list"), _case_payload(traffic), format="json").status_code
        == 403
    )


def test_booking_a_lawyer_twice_on_one_day_is_a_400(api_client, world):
    lawyer = world["users"]["xixiu_lawyer"]
    api_client.force_authenticate(world["users"]["admin"])
    township_centre = LegalServiceCentre.objects.get(region__code="520402005")
    response = api_client.post(
        reverse("legal-roster-list"),
        {"centre": township_centre.pk, "date": "2026-03-02", "lawyer": lawyer.pk},
    )
    assert response.status_code == 400 and "lawyer" in response.json()
    assert str(LegalServiceCentre.objects.get(region__code="520402")) not in str(response.json())
    response = api_client.post(
        reverse("legal-roster-list"),
        {"centre": township_centre.pk, "date": "2026-03-03", "lawyer": lawyer.pk},
    )
    assert response.status_code == 201
    # Another county's centre: the 西秀 lawyer does not serve 平坝, even for an administrator.
    pingba_centre = LegalServiceCentre.objects.get(region__code="520403")
    response = api_client.post(
        reverse("legal-roster-list"), {"centre": pingba_centre.pk, "date": "2026-03-04", "lawyer": lawyer.pk}
    )
    assert response.status_code == 400 and "lawyer" in response.json()


def test_the_schema_describes_the_endpoints(api_client, world):
    api_client.force_authenticate(world["users"]["admin"])
    schema = api_client.get(reverse("api-schema"), {"format": "json"}).json()
    assert "/api/mediation/cases/" in schema["paths"] and "post" in schema["paths"]["/api/mediation/cases/"]
    assert "/api/legal/roster/" in schema["paths"]


def test_a_case_is_carried_to_the_ruling_through_the_api(api_client, world):
    mediator = world["users"]["traffic_mediator"]
    traffic = MediationCommittee.objects.get(dispute_type="道路交通事故")
    api_client.force_authenticate(mediator)
    case_id = api_client.post(
        reverse("mediation-case-list"), _case_payload(traffic, mediator=mediator.pk), format="json"
    ).json()["id"]

    def step(name, payload):
        return api_client.post(reverse(f"mediation-case-{name}", args=[case_id]), payload, format="json")

    early = step("agreement", {"terms": "t", "signed_on": "2026-02-28"})
    assert early.status_code == 400 and "signed_on" in early.json()
    assert not MediationAgreement.objects.filter(case_id=case_id).exists()
    assert step("agreement", {"terms": "赔偿", "signed_on": "2026-03-10"}).status_code == 200
    late = step("confirmation", {"court": "西秀区人民法院", "applied_on": "2026-04-10"})
    assert late.status_code == 200 and late.json()["applied_late"] is True
    before_application = step("confirmation-decision", {"accepted": True, "decided_on": "2026-04-09"})
    assert before_application.status_code == 400 and "decided_on" in before_application.json()
    assert step("confirmation-decision", {"accepted": True, "decided_on": "2026-04-11"}).status_code == 200
    assert step("confirmation-extension", {"reason": "需要核实"}).status_code == 200
    ruling = step(
        "ruling", {"ruled_on": "2026-04-30", "ruling_number": "（2026）黔0402民特3号", "confirmed": True}
    )
    assert ruling.status_code == 200 and ruling.json()["outcome"] == "confirmed"
    deadlines = {
        d["key"]: d
        for d in api_client.get(reverse("mediation-case-detail", args=[case_id])).json()["deadlines"]
    }
    assert deadlines["court_ruling"]["due_on"] == "2026-05-06"  # 04-11 + 15 + 10
    # Another committee's mediator cannot touch the case: it is not found.
    api_client.force_authenticate(world["users"]["medical_mediator"])
    assert step("extend", {"days": 5, "reason": "r"}).status_code == 404
