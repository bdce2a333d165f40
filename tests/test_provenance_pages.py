"""Demo marks on the pages that were missing them: the six-projects dashboard, the prevention
coverage page and a person's subsidy payments. Every figure of an app with demo records carries
the "演示数据" mark (or, for an article figure computed for the city, its source); without demo
records, no page marks anything."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from accounts.roles import Role, SpecialProject
from anshun.provenance import record_demo
from grids.models import Region
from special_groups.models import Guardian, SubsidyPayment
from tests.factories import user_for_role
from tests.special_groups.helpers import enroll, person

pytestmark = pytest.mark.django_db


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        return gettext(message)


def tiles(body: str) -> list[str]:
    """Each tile's HTML (a tile is a div of class "tile"; tiles do not nest)."""
    return re.findall(r'<div class="tile"[^>]*>.*?</div>', body, flags=re.S)


def is_marked(html: str) -> bool:
    return 'class="figure-mark demo"' in html or 'class="figure-mark seed"' in html


@pytest.fixture
def demo():
    record_demo(app_label="special_groups")
    record_demo(app_label="safety_cells")


def dashboard(client, role=Role.CITY_OFFICIAL):
    client.force_login(user_for_role(role))
    response = client.get(reverse("special_groups:dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def test_every_figure_of_the_six_projects_dashboard_is_marked(client, demo):
    body = dashboard(client)
    shown = tiles(body)
    assert len(shown) > 10 and all(is_marked(tile) for tile in shown), [t for t in shown if not is_marked(t)]
    assert 'data-testid="demo-explanation"' in body and zh("Demo data") in body
    assert 'data-testid="charts-demo-mark"' in body  # the monthly charts are demo figures too


def test_a_countys_dashboard_has_no_article_source(client, demo):
    body = dashboard(client, Role.COUNTY_OFFICIAL)
    assert 'class="figure-mark seed"' not in body
    assert all('class="figure-mark demo"' in tile for tile in tiles(body))


def test_the_coverage_page_marks_its_figures(client, demo):
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    body = client.get(reverse("safety_cells:coverage")).content.decode()
    shown = tiles(body)
    assert len(shown) == 2 and all(is_marked(tile) for tile in shown)
    assert 'data-testid="demo-explanation"' in body


def test_the_record_marks_demo_subsidy_figures(client, demo):
    patient = enroll(SpecialProject.ANNING, who=person(name="补贴测试"), risk_grade=1)
    Guardian.objects.create(enrollment=patient, name="监护人", id_number_hash="x", relation="母亲")
    SubsidyPayment.objects.create(enrollment=patient, amount=Decimal("2400"), paid_on=date(2026, 3, 1))
    client.force_login(user_for_role(Role.CASE_OFFICER, project=SpecialProject.ANNING))
    body = client.get(reverse("special_groups:record", args=[patient.pk])).content.decode()
    payments = re.search(r'<ul data-testid="subsidy-payments">.*?</ul>', body, flags=re.S).group()
    assert "¥2400" in payments
    assert all(is_marked(item) for item in re.findall(r"<li>.*?</li>", payments, flags=re.S))


def test_without_demo_records_nothing_is_marked(client):
    body = dashboard(client)
    assert "figure-mark" not in body
    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    assert "figure-mark" not in client.get(reverse("safety_cells:coverage")).content.decode()
    assert Region.objects.filter(code="5204").exists()
