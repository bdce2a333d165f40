"""The demo incidents: the county's closure and on-time rates come out of the rows, not a stored figure."""

import pytest

from accounts.roles import Role
from grids.models import Region
from incidents.demo import load_demo_incidents
from incidents.models import Incident
from incidents.selectors import incident_metrics
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_demo_rates_are_computed_from_the_rows_and_loading_twice_adds_nothing():
    load_demo_incidents()
    count = Incident.objects.count()
    assert load_demo_incidents() == "already loaded" and Incident.objects.count() == count

    county = Region.objects.get(code="520402")
    official = user_for_role(Role.COUNTY_OFFICIAL, region=county)
    figures = incident_metrics(actor=official, region=county)
    assert (figures["due"], figures["closed"], figures["closed_on_time"]) == (1040, 962, 803)
    # Invented demo rates, not the other county's worked example (93.72% and 75.82%).
    assert round(figures["closure_rate"], 2) == 92.50 and round(figures["on_time_rate"], 2) == 77.21
    # Live work everywhere else, none of it due yet.
    elsewhere = user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520425"))
    live = incident_metrics(actor=elsewhere, region=Region.objects.get(code="520425"))
    assert live["open"] > 0 and live["due"] == 0
    # Every demo incident has a timeline and is visible to its grid office.
    assert not Incident.objects.filter(events__isnull=True).exists()
    assert not Incident.objects.filter(offices__isnull=True).exists()
