"""Pages of the assessment: the ranking (printable, exportable) and a score's drill-down.

Both read the ``Score`` rollup rows through ``assessment.selectors`` (``visible_to``), never the
raw history; the drill-down then lists the records behind one score through their own selectors.
"""

from __future__ import annotations

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.generic import TemplateView

from anshun.exports import RowsSource, export_response
from anshun.provenance import demo_apps, marks_context
from anshun.views import ScopedPageMixin
from assessment import selectors
from assessment.indicators import INDICATORS
from assessment.models import TOTAL, Level

CAPABILITY = "dashboard.view"
# The apps whose records the scores count: a score of demo records is marked as demo data.
SOURCE_APPS = ("assessment", "incidents", "mediation", "surveys", "special_groups", "registry")


def _year(request, actor) -> int:
    try:
        year = int(request.GET.get("year") or 0)
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        year = selectors.latest_year(actor=actor) or timezone.localdate().year
    return year


def _level(request, actor) -> str:
    level = request.GET.get("level") or selectors.default_level(actor)
    return level if level in Level.values else selectors.default_level(actor)


class RankingView(ScopedPageMixin, TemplateView):
    """Scores and ranks of the units the viewer may see, one level at a time."""

    template_name = "assessment/ranking.html"
    capability = CAPABILITY
    selector = staticmethod(selectors.scores_visible_to)

    def get(self, request, *args, **kwargs):
        self.get_queryset()  # the scope check every page makes
        user = request.user
        self.year, self.level = _year(request, user), _level(request, user)
        self.rows = selectors.ranking(actor=user, year=self.year, level=self.level)
        if request.GET.get("export") in ("xlsx", "csv"):
            codes = list(INDICATORS)
            return export_response(
                request,
                capability=CAPABILITY,
                filename=f"assessment-{self.year}-{self.level}",
                headers=[
                    pgettext("assessment", "Rank"),
                    _("Unit"),
                    pgettext("assessment", "Ranked among"),
                    pgettext("assessment", "Total score"),
                ]
                + [str(INDICATORS[c].label) for c in codes],
                source=RowsSource(
                    [
                        [r.rank, r.unit_name, r.peer_group, r.total]
                        + [r.scores[c].score if c in r.scores else None for c in codes]
                        for r in self.rows
                    ]
                ),
            )
        return super().get(request, *args, **kwargs)

    def get_template_names(self):
        if self.request.GET.get("print"):
            return ["assessment/ranking_print.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        indicators = [i for i in INDICATORS.values() if self.level in i.levels]
        targets = selectors.targets(year=self.year)
        context.update(
            year=self.year,
            level=self.level,
            level_label=Level(self.level).label,
            levels=Level.choices,
            indicators=indicators,
            rows=[(r, [r.scores.get(i.code) for i in indicators]) for r in self.rows],
            target_rows=[(i, targets.get(i.code)) for i in indicators],
            last_run=selectors.last_run(year=self.year),
            economy=selectors.economy(actor=self.request.user, year=self.year),
            **marks_context(demo_apps(), *SOURCE_APPS),
        )
        return context


class ScoreView(ScopedPageMixin, TemplateView):
    """One unit's scores, and the records behind one of them (``?indicator=``)."""

    template_name = "assessment/score.html"
    capability = CAPABILITY
    selector = staticmethod(selectors.scores_visible_to)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.get_queryset()
        user = self.request.user
        level = self.kwargs["level"]
        if level not in Level.values:
            raise Http404
        year = _year(self.request, user)
        scores = selectors.unit_scores(actor=user, year=year, level=level, unit_key=self.kwargs["unit"])
        by_indicator = {s.indicator: s for s in scores}
        total = by_indicator.pop(TOTAL, None)
        code = self.request.GET.get("indicator") or next(iter(by_indicator), None)
        if code is not None and code not in by_indicator:
            raise Http404
        targets = selectors.targets(year=year)
        context.update(
            year=year,
            level=level,
            unit=scores[0],
            total=total,
            parts=[(INDICATORS[c], s, targets.get(c)) for c, s in by_indicator.items() if c in INDICATORS],
            chosen=INDICATORS.get(code) if code else None,
            drill=selectors.drill_down(actor=user, score=by_indicator[code]) if code else None,
            **marks_context(demo_apps(), *SOURCE_APPS),
        )
        return context
