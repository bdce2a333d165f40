"""Consultations, legal-aid applications and litigation representation: decisions carry reasons;
bad input writes nothing."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from grids.models import Region
from mediation import seed, services
from mediation.models import LegalAidApplication, LegalServiceCentre, LitigationRepresentation
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def centre(db):
    seed.ensure_legal_centres()
    return LegalServiceCentre.objects.get(region__code="520402")


def test_consultation_and_legal_aid_from_application_to_decision(centre):
    lawyer = user_for_role(Role.LAWYER, region=centre.region)
    consultation = services.consultation_record(
        actor=lawyer, centre=centre, topic="劳动报酬", answer="可申请劳动仲裁", referral="劳动仲裁委"
    )
    assert consultation.lawyer == lawyer
    application = services.legal_aid_apply(
        actor=lawyer, centre=centre, applicant_name="王某", matter="追索劳动报酬", applied_on=date(2026, 5, 1)
    )
    with pytest.raises(ValidationError):
        services.legal_aid_decide(
            actor=lawyer,
            application=application,
            eligible=True,
            reason="经济困难",
            decided_on=date(2026, 5, 2),
        )
    with pytest.raises(ValidationError):
        services.legal_aid_decide(
            actor=lawyer, application=application, eligible=False, reason="", decided_on=date(2026, 5, 2)
        )
    with pytest.raises(ValidationError):
        services.legal_aid_decide(
            actor=lawyer,
            application=application,
            eligible=True,
            reason="r",
            decided_on=date(2026, 4, 2),
            lawyer=lawyer,
        )
    application.refresh_from_db()
    assert application.eligibility == LegalAidApplication.Eligibility.PENDING
    services.legal_aid_decide(
        actor=lawyer,
        application=application,
        eligible=True,
        reason="经济困难",
        decided_on=date(2026, 5, 2),
        lawyer=lawyer,
    )
    application.refresh_from_db()
    assert (application.eligibility, application.assigned_lawyer) == ("eligible", lawyer)


def test_an_applicant_without_a_name_is_refused(centre):
    with pytest.raises(ValidationError):
        services.legal_aid_apply(
            actor=user_for_role(Role.LAWYER, region=centre.region),
            centre=centre,
            applicant_name=" ",
            matter="m",
            applied_on=date(2026, 5, 1),
        )
    assert not LegalAidApplication.objects.exists()


def _eligible(centre, lawyer, name="李某") -> LegalAidApplication:
    application = services.legal_aid_apply(
        actor=lawyer, centre=centre, applicant_name=name, matter="追索劳动报酬", applied_on=date(2026, 5, 1)
    )
    return services.legal_aid_decide(
        actor=lawyer, application=application, eligible=True, reason="经济困难",
        decided_on=date(2026, 5, 2), lawyer=lawyer,
    )  # fmt: skip


def test_a_representation_is_taken_on_as_legal_aid_and_concluded_once(centre):
    lawyer = user_for_role(Role.LAWYER, region=centre.region)
    aid = _eligible(centre, lawyer)
    pending = services.legal_aid_apply(
        actor=lawyer, centre=centre, applicant_name="赵某", matter="m", applied_on=date(2026, 5, 1)
    )
    arguments = {"centre": centre, "client_name": "李某", "cause": "劳动争议", "court": "西秀区人民法院"}
    # Bad input is a field error and writes nothing.
    for bad, field in (
        ({"legal_aid": pending}, "legal_aid"),  # not (yet) eligible
        ({"client_name": " "}, "client_name"),
        ({"court": ""}, "court"),
    ):
        with pytest.raises(ValidationError) as error:
            services.representation_open(actor=lawyer, accepted_on=date(2026, 5, 3), **{**arguments, **bad})
        assert field in error.value.message_dict
    # An eligible application of another centre, by a city-wide lawyer who sees both centres.
    other_centre = LegalServiceCentre.objects.get(region__code="520403")
    city_lawyer = user_for_role(Role.LAWYER, region=Region.objects.get(code="5204"))
    elsewhere_aid = _eligible(other_centre, user_for_role(Role.LAWYER, region=other_centre.region), "孙某")
    with pytest.raises(ValidationError) as error:
        services.representation_open(
            actor=city_lawyer, accepted_on=date(2026, 5, 3), **{**arguments, "legal_aid": elsewhere_aid}
        )
    assert "legal_aid" in error.value.message_dict
    assert not LitigationRepresentation.objects.exists()

    representation = services.representation_open(
        actor=lawyer, accepted_on=date(2026, 5, 3), legal_aid=aid, **arguments
    )
    assert (representation.lawyer, representation.legal_aid, representation.status) == (
        lawyer,
        aid,
        "ongoing",
    )
    with pytest.raises(ValidationError) as error:
        services.representation_conclude(
            actor=lawyer, representation=representation, concluded_on=date(2026, 5, 1)
        )
    assert "concluded_on" in error.value.message_dict
    services.representation_conclude(
        actor=lawyer, representation=representation, concluded_on=date(2026, 9, 1)
    )
    representation.refresh_from_db()
    assert (representation.status, representation.concluded_on) == ("concluded", date(2026, 9, 1))
    with pytest.raises(ValidationError) as error:
        services.representation_conclude(
            actor=lawyer, representation=representation, concluded_on=date(2026, 9, 2)
        )
    assert "representation" in error.value.message_dict
    representation.refresh_from_db()
    assert representation.concluded_on == date(2026, 9, 1)


def test_the_desk_takes_on_and_concludes_a_representation_through_the_commands(client, centre):
    lawyer = user_for_role(Role.LAWYER, region=centre.region)
    client.force_login(lawyer)
    page = client.get("/mediation/legal/")
    assert 'name="form" value="representation"' in page.content.decode()
    assert "受理代理诉讼" in page.content.decode() and "代理诉讼结案" in page.content.decode()
    bad = client.post(
        "/mediation/legal/",
        {"form": "representation", "centre": centre.pk, "client_name": "", "cause": "c", "court": "x",
         "accepted_on": "2026-02-30"},
    )  # fmt: skip
    assert bad.status_code == 400 and not LitigationRepresentation.objects.exists()
    errors = bad.context["forms"]["representation"].errors
    assert {"client_name", "accepted_on"} <= set(errors)
    made = client.post(
        "/mediation/legal/",
        {"form": "representation", "centre": centre.pk, "client_name": "周某", "cause": "民间借贷",
         "court": "西秀区人民法院", "accepted_on": "2026-05-03"},
    )  # fmt: skip
    assert made.status_code == 302
    representation = LitigationRepresentation.objects.get()
    assert representation.lawyer == lawyer
    concluded = client.post(
        "/mediation/legal/",
        {"form": "conclusion", "representation": representation.pk, "concluded_on": "2026-08-01"},
    )
    assert concluded.status_code == 302
    representation.refresh_from_db()
    assert representation.status == "concluded"
    # Concluded ones are no longer offered, and a forged id is a field error, not a 500.
    again = client.post(
        "/mediation/legal/",
        {"form": "conclusion", "representation": representation.pk, "concluded_on": "2026-08-02"},
    )
    assert again.status_code == 400 and "representation" in again.context["forms"]["conclusion"].errors
