"""Playwright: the officials' dashboard shows the annual survey waves and the monthly incidents
on two charts (axis titles in Chinese), and says which figures are demo data and which
reproduce the article, with a screenshot."""

import pytest

from accounts.roles import Role
from incidents.demo import load_demo_incidents
from surveys.demo import DEMO_WAVES, load_demo_surveys
from tests.factories import TEST_PASSWORD, user_for_role
from tests.test_browser import live_server_artifact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHART = """(id) => {
    const chart = Chart.getChart(document.getElementById(id));
    const box = chart.canvas.getBoundingClientRect();
    return {
        type: chart.config.type,
        labels: chart.data.labels,
        series: chart.data.datasets.map((d) => ({label: d.label, data: d.data})),
        x: chart.options.scales.x.title.text,
        y: chart.options.scales.y.title.text,
        width: box.width,
        height: box.height,
    };
}"""


def test_dashboard_has_a_survey_wave_chart_a_monthly_chart_and_marks_demo_figures(
    anshun_tree, live_server, browser
):
    load_demo_surveys()
    load_demo_incidents()
    user = user_for_role(Role.CITY_OFFICIAL)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("body[data-charts-ready='1']", timeout=30_000)
    page.wait_for_selector("body[data-map-ready='5204']", timeout=30_000)

    waves = page.evaluate(CHART, "chart-waves")
    assert waves["type"] == "line"
    assert waves["labels"] == [f"{w.year}年调查" for w in DEMO_WAVES]  # one point per wave, no months
    assert (waves["x"], waves["y"]) == ("调查批次", "比率（%）")
    security = next(s for s in waves["series"] if s["label"] == "安全感率")["data"]
    assert security == sorted(security) and security[-1] == 97.24  # rising to the article's 2017 rate
    assert waves["width"] > 300 and waves["height"] > 150

    months = page.evaluate(CHART, "chart-incidents")
    assert months["labels"] == [f"2017-{m:02d}" for m in range(1, 13)]
    assert (months["x"], months["y"]) == ("月份", "事件数（件）")
    reported = next(s for s in months["series"] if s["label"] == "上报事件")["data"]
    assert sum(reported) == 1040 and min(reported) > 0  # the demo county's 2017 incidents, month by month
    assert months["width"] > 300 and months["height"] > 150
    assert page.inner_text("[data-testid='incidents-by-month'] h2") == "2017年各月事件"

    # Survey rates for the city are the article's figures: labelled with their source.
    security_tile = page.locator("[data-testid='tile-surveys.security_sense']")
    assert security_tile.locator(".num").inner_text() == "97.24%"
    assert "安全感率达97.24%" in security_tile.get_by_test_id("seed-mark").inner_text()
    assert security_tile.get_by_test_id("demo-detail-mark").inner_text() == "样本为演示数据"  # n = 10,000
    # Incident figures are demo data: marked on the tile, and the page says what that means.
    closure = page.locator("[data-testid='tile-incidents.closure_rate']")
    assert closure.locator(".num").inner_text() == "92.50%"
    assert closure.get_by_test_id("demo-mark").inner_text() == "演示数据"
    assert closure.get_attribute("data-provenance") == "demo"
    explanation = page.get_by_test_id("demo-explanation")
    assert explanation.is_visible() and "不是安顺的实际数字" in explanation.inner_text()
    assert "中国网" in page.get_by_test_id("seed-source").inner_text()
    assert errors == []
    page.screenshot(path=str(live_server_artifact("dashboard-charts-and-marks.png")), full_page=True)

    # A county's survey rates are demo shares, not the article's city figures.
    page.goto(f"{live_server.url}/dashboard/?region=520402")
    page.wait_for_selector("body[data-charts-ready='1']", timeout=30_000)
    county = page.locator("[data-testid='tile-surveys.security_sense']")
    assert county.get_attribute("data-provenance") == "demo"
    assert county.get_by_test_id("seed-mark").count() == 0

    # Same planning, same assessment: the city's 2017 rates carry the article, counties are demo.
    page.goto(f"{live_server.url}/dashboard/assessment/?year=2017")
    assert page.locator("tr[data-code='5204'] [data-testid='seed-mark']").inner_text() == "来源：原文"
    assert page.locator("tr[data-code='520402'] [data-testid='demo-mark']").inner_text() == "演示数据"
    page.goto(f"{live_server.url}/dashboard/assessment/?year=2016")
    assert page.locator("tr[data-code='5204'] [data-testid='demo-mark']").count() == 1  # a demo wave
    context.close()
