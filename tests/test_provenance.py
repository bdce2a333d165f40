"""Which figures a page marks as demo data and which it labels with the article as source."""

import pytest

from anshun.dashboard import Tile
from anshun.models import DemoDataset
from anshun.provenance import DEMO, SEED, mark_tiles, record_demo
from grids.models import Region

pytestmark = pytest.mark.django_db


def _tiles(security=97.24, picked=1299):
    return [
        Tile(key="surveys.security_sense", label="安全感率", value=security, unit="%", detail="n = 10,000"),
        Tile(key="special_groups.picked_up", label="已接回", value=picked),
        Tile(key="incidents.closure_rate", label="结案率", value=92.5, unit="%"),
        Tile(key="special_groups.patients", label="在册患者", value=None, suppressed=True),
    ]


def test_without_demo_records_nothing_is_marked():
    city = Region.objects.get(code="5204")
    assert [t.provenance for t in mark_tiles(_tiles(), region=city)] == ["", "", "", ""]


def test_demo_apps_mark_their_figures_and_the_article_s_city_figures_carry_their_source():
    record_demo(app_label="surveys")
    record_demo(app_label="surveys")  # idempotent
    record_demo(app_label="special_groups")
    assert DemoDataset.objects.count() == 2
    city, county = Region.objects.get(code="5204"), Region.objects.get(code="520402")
    marked = {t.key: t for t in mark_tiles(_tiles(), region=city)}
    assert marked["surveys.security_sense"].provenance == SEED
    assert marked["surveys.security_sense"].source == "安全感率达97.24%"
    assert marked["surveys.security_sense"].demo_detail  # the sample size is a demo choice
    assert marked["special_groups.picked_up"].provenance == SEED
    assert marked["incidents.closure_rate"].provenance == ""  # no demo incidents recorded here
    assert marked["special_groups.patients"].provenance == DEMO  # hidden: nothing to check
    # A county's figure is a demo share, whatever its value.
    assert {
        t.provenance for t in mark_tiles(_tiles(), region=county) if t.key != "incidents.closure_rate"
    } == {DEMO}
    # A city figure that does not agree with the article is not passed off as the article's.
    off = {t.key: t for t in mark_tiles(_tiles(security=97.23, picked=1300), region=city)}
    assert off["surveys.security_sense"].provenance == DEMO and off["surveys.security_sense"].source == ""
    assert off["special_groups.picked_up"].provenance == DEMO


def test_a_figure_outside_a_tile_is_marked_by_the_same_rule():
    from anshun.provenance import demo_apps, mark_figure

    record_demo(app_label="safety_cells")
    apps = demo_apps()
    city, county = Region.objects.get(code="5204"), Region.objects.get(code="520402")
    key = "safety_cells.joint_defence_coverage"
    seed = mark_figure(key, 96.5, region=city, apps=apps)
    assert (seed.provenance, seed.source) == (SEED, "全市95%以上的村(居)均建立了治保会、巡防队")
    assert mark_figure(key, 96.5, region=county, apps=apps).provenance == DEMO
    assert mark_figure(key, 90.0, region=city, apps=apps).provenance == DEMO  # not the article's
    assert mark_figure(key, None, region=None, apps=apps).provenance == DEMO
    assert mark_figure("special_groups.patients", 9006, region=city, apps=apps).provenance == ""
