"""The incident page shows the panels other apps contribute: mediation referral and nearby cameras."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from grids.models import Grid
from incidents.models import Duty, Incident, IncidentCategory
from safety_cells.models import Camera
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_dispute_incident_page_offers_mediation_and_lists_cameras_nearby(client):
    grid = Grid.objects.filter(code__startswith="520402005").order_by("code").first()
    category = IncidentCategory.objects.filter(duty=Duty.CONFLICTS_DISPUTES).first() or (
        IncidentCategory.objects.create(
            code="neighbour-dispute", name="邻里纠纷", duty=Duty.CONFLICTS_DISPUTES
        )
    )
    spot = grid.geometry.point_on_surface
    incident = Incident.objects.create(category=category, description="邻里纠纷", grid=grid, location=spot)
    incident.offices.add(grid.office_id)
    Camera.objects.create(**_camera_fields(spot, grid))

    client.force_login(user_for_role(Role.DISPATCHER))
    html = client.get(reverse("incidents:detail", kwargs={"pk": incident.pk})).content.decode()
    assert 'data-testid="mediation-panel"' in html
    assert 'data-testid="incident-cameras"' in html
    assert "TEST-CAM-1" in html


def _camera_fields(spot, grid):
    return {
        "code": "TEST-CAM-1",
        "name": "TEST-CAM-1",
        "phase": 4,
        "location": spot,
        "owner": "公安局",
        "village": grid.village,
        "grid": grid,
    }
