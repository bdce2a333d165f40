"""Every model of the project names itself: no "X object (N)" in a dropdown, the admin or a log,
and labels of records with personal data are masked."""

from datetime import date
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import reverse

from accounts.roles import Role
from grids.models import Region
from mediation import seed, services
from mediation.models import LegalServiceCentre
from tests.factories import user_for_role

ROOT = Path(settings.BASE_DIR).resolve()


def _project_models():
    for model in apps.get_models(include_auto_created=False):
        source = Path(__import__(model.__module__, fromlist=["_"]).__file__).resolve()
        if ROOT in source.parents and ".venv" not in source.parts:
            yield model


def test_every_project_model_has_its_own_str():
    found = list(_project_models())
    assert len(found) > 60  # the walk reached the apps, not an empty list
    default = [m._meta.label for m in found if m.__str__ is models.Model.__str__]
    assert default == [], f"these would show as 'X object (N)': {default}"


@pytest.mark.django_db
def test_the_lawyers_dropdown_names_applications_with_the_applicant_masked(client):
    seed.ensure_legal_centres()
    xixiu = Region.objects.get(code="520402")
    centre = LegalServiceCentre.objects.get(region=xixiu)
    lawyer = user_for_role(Role.LAWYER, region=xixiu)
    application = services.legal_aid_apply(
        actor=lawyer, centre=centre, applicant_name="孙小明", matter="欠薪", applied_on=date(2026, 5, 1)
    )
    client.force_login(lawyer)
    page = client.get(reverse("mediation:legal")).content.decode()
    assert "object (" not in page
    option = f'<option value="{application.pk}">'
    assert option in page
    label = page.split(option, 1)[1].split("</option>", 1)[0]
    assert "孙**" in label and "孙小明" not in label and "2026-05-01" in label
