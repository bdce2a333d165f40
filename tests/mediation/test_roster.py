"""The lawyers' duty roster for petition-reception days in 西秀 and 平坝: clashes are caught."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from accounts.roles import Role
from anshun.commands import NotPermitted
from grids.models import Region
from mediation import seed, selectors, services
from mediation.models import DutyShift, LegalServiceCentre
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def centres(db):
    seed.ensure_legal_centres()
    return {
        "xixiu": LegalServiceCentre.objects.get(region__code="520402"),
        "pingba": LegalServiceCentre.objects.get(region__code="520403"),
    }


@pytest.fixture
def scheduler(db):
    return user_for_role(Role.LAWYER, region=Region.objects.get(code="5204"))


def test_centres_exist_for_the_city_each_county_and_each_township(centres):
    levels = set(LegalServiceCentre.objects.values_list("region__level", flat=True))
    assert levels == {"city", "county", "township"}
    assert LegalServiceCentre.objects.count() == Region.objects.exclude(level="village").count()
    assert seed.ensure_legal_centres() == 0


def test_one_lawyer_cannot_be_in_two_places_on_one_day(centres, scheduler):
    lawyer = user_for_role(Role.LAWYER, region=Region.objects.get(code="5204"))  # serves both counties
    services.duty_assign(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 1), lawyer=lawyer)
    with pytest.raises(ValidationError) as error:
        services.duty_assign(actor=scheduler, centre=centres["pingba"], day=date(2026, 6, 1), lawyer=lawyer)
    assert "lawyer" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.duty_assign(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 1), lawyer=lawyer)
    services.duty_assign(actor=scheduler, centre=centres["pingba"], day=date(2026, 6, 2), lawyer=lawyer)
    assert DutyShift.objects.filter(lawyer=lawyer).count() == 2


def test_only_lawyers_go_on_the_roster_and_only_schedulers_book(centres, scheduler):
    with pytest.raises(ValidationError):
        services.duty_assign(
            actor=scheduler,
            centre=centres["xixiu"],
            day=date(2026, 6, 1),
            lawyer=user_for_role(Role.MEDIATOR),
        )
    with pytest.raises(NotPermitted):
        services.duty_assign(
            actor=user_for_role(Role.COUNTY_OFFICIAL),
            centre=centres["xixiu"],
            day=date(2026, 6, 1),
            lawyer=user_for_role(Role.LAWYER),
        )


def test_clash_report_finds_double_bookings_and_uncovered_reception_days(centres, scheduler):
    lawyer_a = user_for_role(Role.LAWYER, region=centres["xixiu"].region)
    lawyer_b = user_for_role(Role.LAWYER, region=centres["pingba"].region)
    for day in (date(2026, 6, 1), date(2026, 6, 2), date(2026, 6, 3)):
        for centre in centres.values():
            services.reception_day_add(actor=scheduler, centre=centre, day=day, leader="区长")
    services.duty_assign(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 1), lawyer=lawyer_a)
    services.duty_assign(actor=scheduler, centre=centres["pingba"], day=date(2026, 6, 1), lawyer=lawyer_b)
    services.duty_assign(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 2), lawyer=lawyer_a)
    services.duty_assign(actor=scheduler, centre=centres["pingba"], day=date(2026, 6, 2), lawyer=lawyer_b)
    services.duty_assign(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 3), lawyer=lawyer_a)
    # A double booking that slipped in from outside the service (an admin edit or an import).
    DutyShift.objects.create(centre=centres["pingba"], date=date(2026, 6, 3), lawyer=lawyer_a)
    DutyShift.objects.filter(centre=centres["pingba"], date=date(2026, 6, 2)).delete()
    clashes = selectors.roster_clashes(actor=scheduler, start=date(2026, 6, 1), end=date(2026, 6, 30))
    assert [(c.kind, c.day) for c in clashes] == [
        ("uncovered", date(2026, 6, 2)),
        ("double_booked", date(2026, 6, 3)),
    ]
    assert str(centres["pingba"]) in clashes[0].detail


def test_a_reception_day_is_recorded_once_per_centre(centres, scheduler):
    services.reception_day_add(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 1))
    with pytest.raises(ValidationError):
        services.reception_day_add(actor=scheduler, centre=centres["xixiu"], day=date(2026, 6, 1))
