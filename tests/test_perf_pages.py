"""What the analysis pages do beyond their SQL, made cheap (issue #19): the demo data sets are
read once per process, a figure's mark is rendered in Python exactly as its template renders it,
and a dashboard checks the rollups' queue once per page."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.template import Context, Engine
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from anshun import provenance
from anshun.dashboard import Tile
from anshun.provenance import DEMO, SEED, FigureMark, demo_apps, record_demo
from anshun.templatetags.figure_marks import figure_mark

pytestmark = pytest.mark.django_db


def test_a_kept_set_is_never_read_inside_a_transaction_and_a_record_forgets_it():
    provenance._demo_apps = (time.monotonic(), frozenset({"stale"}))
    try:
        assert demo_apps() == frozenset()  # the test's transaction reads the table itself
        record_demo(app_label="mediation")
        assert provenance._demo_apps is None  # forgotten on save, for this process's next read
        assert demo_apps() == frozenset({"mediation"})
    finally:
        provenance._demo_apps = None


@pytest.mark.parametrize(
    "mark",
    [
        FigureMark(provenance=DEMO),
        FigureMark(provenance=SEED, source="接回率达95%<b>"),
        FigureMark(),
        Tile(key="special_groups.picked_up", label="x", value=1, provenance=SEED, source="“1299”&"),
    ],
)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_mark_tag_renders_what_the_mark_template_renders(mark, language):
    template = Engine.get_default().get_template("figure_mark.html")
    context = {"demo_explanation": provenance.DEMO_EXPLANATION, "seed_source": provenance.SOURCE}

    def include(**extra) -> str:  # less the file's last newline (whitespace before a closing tag)
        return template.render(Context({**context, "mark": mark, **extra})).removesuffix("\n")

    with translation.override(language):
        assert figure_mark(mark) == include()
        assert figure_mark(mark, testid="charts-demo-mark") == include(testid="charts-demo-mark")


def test_the_dashboard_checks_the_rollup_queue_once(client):
    from accounts.roles import Role
    from tests.factories import user_for_role

    client.force_login(user_for_role(Role.CITY_OFFICIAL))
    client.get("/dashboard/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboard/").status_code == 200
    sql = [q["sql"] for q in queries.captured_queries]
    assert len([s for s in sql if 'FROM "rollups_pending"' in s]) == 1, sql
    assert len([s for s in sql if 'FROM "rollups_foldstate"' in s]) <= 2, sql  # the tiles', the page's
