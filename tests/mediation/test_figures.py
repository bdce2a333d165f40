"""The legal desk counts litigation representation (代理诉讼) from its records, inside the
viewer's jurisdiction; the committees page marks the five example committees and its demo
figures as demo data."""

import pytest

from accounts.models import User
from accounts.roles import Role
from grids.models import Region
from mediation.demo import load_demo
from mediation.models import LitigationRepresentation, MediationCommittee
from tests.factories import user_for_role

pytestmark = pytest.mark.django_db


def test_legal_desk_lists_and_counts_litigation_representation_in_scope(client):
    load_demo()
    assert LitigationRepresentation.objects.filter(is_demo=True).exists()
    lawyer = User.objects.get(username="lawyer")  # the demo lawyer of 西秀区
    client.force_login(lawyer)
    page = client.get("/mediation/legal/")
    assert page.status_code == 200
    mine = LitigationRepresentation.objects.filter(centre__region__path__startswith=lawyer.region.path)
    others = LitigationRepresentation.objects.exclude(pk__in=mine)
    assert page.context["service_counts"]["representations"] == mine.count() > 0
    assert {r.pk for r in page.context["representations"]} == set(mine.values_list("pk", flat=True))
    assert others.exists()  # other counties' lawsuits exist and are not shown
    html = page.content.decode()
    assert f'data-testid="representation-count">{mine.count()}<' in html
    assert "代理诉讼" in html and "演示数据" in html
    csv = client.get("/mediation/legal/?table=representations&export=csv")
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 1 + mine.count()
    # Roles without legal.serve never see the desk.
    client.force_login(user_for_role(Role.GRID_WORKER))
    assert client.get("/mediation/legal/").status_code == 403


def test_committees_page_marks_the_example_committees_and_demo_figures(client):
    load_demo()
    examples = MediationCommittee.objects.filter(kind="professional", is_demo=True)
    assert examples.count() == 5
    client.force_login(user_for_role(Role.COUNTY_OFFICIAL, region=Region.objects.get(code="520402")))
    html = client.get("/mediation/committees/").content.decode()
    assert 'data-testid="demo-explanation"' in html and 'data-testid="demo-committees"' in html
    assert html.count('data-testid="demo-mark"') == examples.count()
    for committee in MediationCommittee.objects.filter(kind="professional", is_demo=False):
        row = html.split(f"{committee.name}</a>", 1)[1].split("</td>", 1)[0]
        assert "demo-mark" not in row  # the four the article names are not marked
