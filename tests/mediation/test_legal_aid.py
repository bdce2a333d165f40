"""Consultations and legal-aid applications: decisions carry reasons; bad input writes nothing."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from mediation import seed, services
from mediation.models import LegalAidApplication, LegalServiceCentre
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
