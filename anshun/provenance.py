"""Where a figure on a page comes from: the source article, or synthetic demo records.

The demo loaders (``load_anshun --demo``) write synthetic records and say so in
``DemoDataset``. Every figure is still computed from records; this module only labels it:

- a figure of an app with demo records is *demo data* ("演示数据") and the page says so,
  with what that means, unless
- it is one of the figures the source article publishes for the city (``SEED_FIGURES``),
  shown for the city, and the computed value agrees with the article: then it is labelled
  with the article as its source (the demo was built to reproduce it, and the value shown is
  still the one computed from the records).

An app without demo records (a real deployment) gets no label at all. The article's wording in
``SEED_FIGURES`` is a citation for the label and a check, never a value shown as a figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models.signals import post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _

from anshun.commands import system_command

DEMO = "demo"
SEED = "seed"

# The article (FIGURES.md): 2018-03-19, china.com.cn, interview with the mayor of Anshun.
SOURCE = _("China.com.cn, 19 March 2018: interview with the mayor of Anshun on Safe Anshun")
SOURCE_TITLE = "贵州省安顺市:致力平安建设 守护百姓安宁"  # the article's title, as published


@dataclass(frozen=True)
class SeedFigure:
    quote: str  # the article's words (a citation, in the article's language)
    holds: Callable[[float | int | Decimal], bool]  # the computed value agrees with the article
    # The tile's detail rests on demo choices the article does not give (a survey's sample
    # size and interval: 10,000 demo respondents), so the detail is marked as demo data.
    demo_detail: bool = False


def _equals(expected: float) -> Callable:
    return lambda value: round(float(value), 2) == expected


def _at_least(expected: float) -> Callable:
    return lambda value: float(value) >= expected


SEED_FIGURES: dict[str, SeedFigure] = {
    "surveys.security_sense": SeedFigure("安全感率达97.24%", _equals(97.24), demo_detail=True),
    "surveys.satisfaction": SeedFigure("满意率达98.09%", _equals(98.09), demo_detail=True),
    "safety_cells.joint_defence_coverage": SeedFigure(
        "全市95%以上的村(居)均建立了治保会、巡防队", _at_least(95)
    ),
    "special_groups.picked_up": SeedFigure("接回刑释解戒必接对象1299名", _equals(1299)),
    "special_groups.pickup_rate": SeedFigure("接回率达95%", lambda v: round(float(v)) == 95),
    "special_groups.patients": SeedFigure("排查登记精神障碍患者9006名", _equals(9006)),
    "special_groups.guardian_coverage": SeedFigure("全部落实精神障碍患者监护人责任", _equals(100)),
    "special_groups.subsidy_paid": SeedFigure("兑现以奖代补资金2160余万元", _at_least(21_600_000)),
    "special_groups.clinics": SeedFigure("增设精神病专科门诊总数达8家", _equals(8)),
    "special_groups.township_centres": SeedFigure("在全市88个乡镇……建立留守儿童救助保护中心", _equals(88)),
    "special_groups.village_centres": SeedFigure("1007个村(居)建立留守儿童救助保护中心", _equals(1007)),
    "special_groups.kindergartens": SeedFigure("山村幼儿园260余所", _at_least(260)),
    "special_groups.special_schools": SeedFigure("建成专门学校2所", _equals(2)),
    "special_groups.students": SeedFigure("接收学生800余名", _at_least(800)),
    "special_groups.yuxin_investment": SeedFigure(
        "“育新工程”，全市投入资金1800余万元", _at_least(18_000_000)
    ),
    "special_groups.yulu_investment": SeedFigure("“雨露工程”，全市投入8亿余元", _at_least(800_000_000)),
    "special_groups.dormitory_area": SeedFigure(
        "新建寄宿制学校学生宿舍、食堂100余万平方米", _at_least(1_000_000)
    ),
}

# What "演示数据" means, shown wherever a figure carries the mark.
DEMO_EXPLANATION = _(
    "Demo data: computed from synthetic demo records, not Anshun's real figures. Figures that "
    "carry a source are the article's published city figures, reproduced by computing them from "
    "the demo records."
)


# ``demo_apps`` read once per process: the set changes only when a demo loader runs (a
# management command, before the site serves the demo), so a page does not ask for it.
DEMO_APPS_SECONDS = 300  # how long another process may show the set as it was (then it rereads)
_demo_apps: tuple[float, frozenset[str]] | None = None


def demo_apps() -> frozenset[str]:
    """The apps whose demo loader has written records here.

    Read from the database once and kept in this process: a write to ``DemoDataset`` in this
    process forgets it at once (``forget_demo_apps``, connected to its save and delete signals
    and to a flush of the database); other processes reread it after ``DEMO_APPS_SECONDS``.
    Inside a transaction (a test, an atomic request) the set is read afresh and not kept: that
    transaction may have written to it, and may still be rolled back."""
    global _demo_apps
    from django.db import connection

    committed = not connection.in_atomic_block
    kept = _demo_apps
    if committed and kept is not None and time.monotonic() - kept[0] < DEMO_APPS_SECONDS:
        return kept[1]
    from anshun.models import DemoDataset

    apps = frozenset(DemoDataset.objects.values_list("app_label", flat=True))
    if committed:
        _demo_apps = (time.monotonic(), apps)
    return apps


def forget_demo_apps(**_signal) -> None:
    """A demo data set was recorded or removed here: the next ``demo_apps()`` reads it again."""
    global _demo_apps
    _demo_apps = None


post_save.connect(forget_demo_apps, sender="anshun.DemoDataset", dispatch_uid="forget_demo_apps_saved")
post_delete.connect(forget_demo_apps, sender="anshun.DemoDataset", dispatch_uid="forget_demo_apps_deleted")
post_migrate.connect(forget_demo_apps, dispatch_uid="forget_demo_apps_flushed")  # also after a flush


def provenance(key: str, value, *, region, apps: set[str]) -> tuple[str, str, bool]:
    """(``DEMO`` | ``SEED`` | "", the article's words for a seed figure, whether the figure's
    detail is demo data) of one figure."""
    if key.split(".", 1)[0] not in apps:
        return "", "", False
    seed = SEED_FIGURES.get(key)
    is_city = region is not None and region.parent_id is None
    if seed and is_city and value is not None and seed.holds(value):
        return SEED, seed.quote, seed.demo_detail
    return DEMO, "", False


def mark_tiles(tiles: Iterable, *, region, apps: set[str] | None = None) -> list:
    """The tiles with their provenance set (``Tile.provenance`` and ``Tile.source``).

    ``region`` is the one the figures are computed for (``None`` for figures that are never the
    article's, such as one year's: they are marked as demo data at most). ``apps`` may be given
    when the page has read ``demo_apps()`` already."""
    tiles = list(tiles)
    if apps is None:
        apps = demo_apps() if tiles else set()
    if not apps:
        return tiles
    marked = []
    for tile in tiles:
        value = None if tile.suppressed else tile.value
        kind, quote, demo_detail = provenance(tile.key, value, region=region, apps=apps)
        marked.append(replace(tile, provenance=kind, source=quote, demo_detail=demo_detail))
    return marked


@dataclass(frozen=True)
class FigureMark:
    """The mark of one figure outside a tile (``templates/figure_mark.html`` shows it)."""

    provenance: str = ""  # DEMO | SEED | ""
    source: str = ""  # the article's words, for a SEED figure


def mark_figure(key: str, value, *, region, apps: set[str]) -> FigureMark:
    """The mark of one figure by the same rule as ``mark_tiles``."""
    kind, quote, _demo_detail = provenance(key, value, region=region, apps=apps)
    return FigureMark(provenance=kind, source=quote)


def marks_context(apps: set[str], *app_labels: str) -> dict:
    """What a page showing marks needs: the explanation and the source shown on hover, and
    whether its own apps' figures are demo data (for the explanation above them)."""
    return {
        "figures_demo": any(label in apps for label in app_labels),
        "demo_explanation": DEMO_EXPLANATION,
        "seed_source": SOURCE,
    }


@system_command(
    "the demo loaders (load_anshun --demo): an app's records are synthetic, so its figures say so"
)
def record_demo(*, app_label: str) -> None:
    """Called by each app's demo loader: its records are synthetic (idempotent)."""
    from anshun.models import DemoDataset

    DemoDataset.objects.get_or_create(app_label=app_label)
