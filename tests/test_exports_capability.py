"""An export asks one rule whatever its size: the page's export capability (``anshun.policy``),
checked by ``anshun.policy.authorize_export`` before a file is streamed inline and by the same
rule's command before a job is started. A lawyer (no ``incident.view``) who can open the incident
list is refused both the small file and the large job; a county official gets both."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from anshun.models import ExportJob
from grids.models import Region
from tests.factories import user_for_role
from tests.test_exports_streaming import fill_incidents

pytestmark = pytest.mark.django_db

ROWS = 150


@pytest.fixture
def incidents():
    fill_incidents(ROWS)


def export(client, user, *, limit: int, settings, export_format="csv"):
    settings.EXPORT_INLINE_MAX_ROWS = limit
    settings.EXPORT_BATCH_SIZE = 50
    client.force_login(user)
    return client.get(reverse("incidents:list"), {"export": export_format})


@pytest.mark.parametrize("limit", [1000, 100], ids=["inline", "job"])
@pytest.mark.parametrize("export_format", ["csv", "xlsx"])
def test_a_lawyer_is_refused_the_export_at_every_size(client, settings, incidents, limit, export_format):
    lawyer = user_for_role(Role.LAWYER, region=Region.objects.get(code="5204"))
    response = export(client, lawyer, limit=limit, settings=settings, export_format=export_format)
    assert response.status_code == 403
    assert "Content-Disposition" not in response
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("limit", [1000, 100], ids=["inline", "job"])
def test_a_county_official_gets_the_export_at_every_size(client, settings, incidents, limit):
    official = user_for_role(Role.COUNTY_OFFICIAL)
    response = export(client, official, limit=limit, settings=settings)
    if limit > ROWS:
        assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        assert body.count("\n") == ROWS + 1
        assert not ExportJob.objects.exists()
    else:
        assert response.status_code == 302
        assert ExportJob.objects.get().requester == official


def test_the_page_itself_stays_open_to_the_lawyer(client, settings, incidents):
    """Only the export is the export rule's: the list page keeps its own checks."""
    client.force_login(user_for_role(Role.LAWYER, region=Region.objects.get(code="5204")))
    assert client.get(reverse("incidents:list")).status_code == 200
