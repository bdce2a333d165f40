"""Officials' dashboard pages: KPI tiles, choropleth, trends, drill-down, the
"same planning, same assessment" view and the printable report for the on-site meeting.

Every table on these pages is also an XLSX/CSV download (``?export=xlsx&table=...``),
built from the same rows the page shows.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from anshun.charts import dataset, line_chart
from anshun.dashboard import collect_tiles
from anshun.exports import RowsSource, export_response
from anshun.forms import add_service_errors
from anshun.provenance import DEMO, DEMO_EXPLANATION, SEED, SOURCE, SOURCE_TITLE, demo_apps, provenance
from anshun.views import ScopedPageMixin
from grids.selectors import regions_visible_to
from incidents.selectors import incident_years, monthly_incidents
from surveys import selectors
from surveys.forms import ResponsesUploadForm
from surveys.models import EconomicIndicator, Item, Metric
from surveys.services.intake import ResponsesRejected, import_responses, read_upload


@dataclass
class Table:
    key: str
    title: str
    headers: list[str]
    rows: list[list]


def _rate_cells(metric) -> list:
    if metric is None or metric.rate is None:
        return [None, None, None, metric.denominator if metric else None]
    return [round(metric.rate, 2), round(metric.ci_low, 2), round(metric.ci_high, 2), metric.denominator]


def _rate_headers() -> list[str]:
    headers = []
    for _key, label in Metric.choices:
        headers += [f"{label} (%)", _("95% CI low"), _("95% CI high"), _("n")]
    return headers


def places_table(places, title: str) -> Table:
    return Table(
        "places",
        title,
        [_("Code"), _("Place"), *_rate_headers()],
        [
            [p.code, p.name, *[c for key, _l in Metric.choices for c in _rate_cells(p.rates.get(key))]]
            for p in places
        ],
    )


def trend_table(points) -> Table:
    return Table(
        "trend",
        _("Survey waves"),
        [_("Survey wave"), *_rate_headers()],
        [
            [p["label"], *[c for key, _l in Metric.choices for c in _rate_cells(p["rates"].get(key))]]
            for p in points
        ],
    )


def incidents_table(months, year: int) -> Table:
    return Table(
        "incidents",
        _("Incidents by month, %(year)s") % {"year": year},
        [_("Month"), _("Incidents reported"), _("Incidents closed"), _("Closed on time")],
        [[m["month"], m["reported"], m["closed"], m["closed_on_time"]] for m in months],
    )


def wave_chart(points) -> dict:
    """One point per survey wave (the annual survey is not a monthly series)."""
    labels = [_("%(year)s survey") % {"year": p["year"]} for p in points]
    series = [
        dataset(
            label,
            [
                round(p["rates"][key].rate, 2)
                if key in p["rates"] and p["rates"][key].rate is not None
                else None
                for p in points
            ],
            index=index,
        )
        for index, (key, label) in enumerate(Metric.choices)
    ]
    chart = line_chart(labels, series, y_max=100, x_title=_("Survey wave"), y_title=_("Rate (%)"))
    # Rates sit in the nineties: start the axis there unless a rate is lower (never clipped).
    del chart["options"]["scales"]["y"]["min"]
    chart["options"]["scales"]["y"]["suggestedMin"] = 90
    return chart


def incident_chart(months) -> dict:
    """Incidents reported, closed and closed on time, month by month."""
    labels = [m["month"] for m in months]
    series = [
        dataset(label, [m[key] for m in months], index=index)
        for index, (key, label) in enumerate(
            (
                ("reported", _("Incidents reported")),
                ("closed", _("Incidents closed")),
                ("closed_on_time", _("Closed on time")),
            )
        )
    ]
    return line_chart(labels, series, y_min=0, x_title=_("Month"), y_title=_("Incidents (件)"))


def assessment_table(rows) -> Table:
    kinds = EconomicIndicator.Kind.choices
    return Table(
        "assessment",
        _("Same planning, same assessment"),
        [_("Code"), _("Place"), *_rate_headers(), *[f"{label} (%)" for _k, label in kinds]],
        [
            [
                row["region"].code,
                row["region"].name,
                *[c for key, _l in Metric.choices for c in _rate_cells(row["rates"].get(key))],
                *[row["indicators"].get(kind) for kind, _l in kinds],
            ]
            for row in rows
        ],
    )


class ExportMixin:
    """``?export=xlsx|csv&table=<key>`` answers the named table as a spreadsheet."""

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export not in ("xlsx", "csv"):
            return super().get(request, *args, **kwargs)
        context = self.get_context_data(**kwargs)
        tables = {t.key: t for t in context["tables"]}
        table = tables.get(request.GET.get("table") or next(iter(tables), ""))
        if table is None:
            raise Http404
        filename = f"{context.get('file_stem', 'anshun')}-{table.key}"
        return export_response(
            request,
            capability="dashboard.view",
            filename=filename,
            headers=table.headers,
            source=RowsSource(list(table.rows)),
        )


class DashboardContextMixin(ScopedPageMixin):
    capability = "dashboard.view"
    selector = staticmethod(regions_visible_to)

    def dashboard_context(self) -> dict:
        from rollups.selectors import one_page

        with one_page():  # the rollups are folded and their fold time read once for the page
            return self._dashboard_context()

    def _dashboard_context(self) -> dict:
        self.get_queryset()  # the viewer's regions: proves the page reads through a scoped selector
        user = self.request.user
        region = selectors.dashboard_region(actor=user, code=self.request.GET.get("region"))
        waves = selectors.waves_with_figures()
        wave_code = self.request.GET.get("wave")
        wave = next((w for w in waves if w.code == wave_code), waves[-1] if waves else None)
        places = selectors.child_figures(actor=user, region=region, wave=wave)
        points = selectors.trend(actor=user, region=region)
        years = incident_years(actor=user, region=region)
        asked = self.request.GET.get("year", "")
        if asked.isdigit() and int(asked) in years:
            year = int(asked)
        elif wave is not None and wave.year in years:
            year = wave.year
        else:
            year = years[-1] if years else timezone.localdate().year
        months = monthly_incidents(actor=user, region=region, year=year)
        tiles = collect_tiles(actor=user, region=region)
        return {
            "incident_year": year,
            "incident_years": years,
            "months": months,
            "charts": {"waves": wave_chart(points), "incidents": incident_chart(months)},
            "tiles_demo": any(t.provenance == DEMO for t in tiles),
            "tiles_seed": any(t.provenance == SEED for t in tiles),
            "demo_explanation": DEMO_EXPLANATION,
            "seed_source": SOURCE,
            "seed_title": SOURCE_TITLE,
            "region": region,
            "crumbs": selectors.breadcrumb(actor=user, region=region),
            "waves": waves,
            "wave": wave,
            "places": places,
            "points": points,
            "tiles": tiles,
            "tables": [
                places_table(places, _("Places in %(region)s") % {"region": region.name}),
                trend_table(points),
                incidents_table(months, year),
            ],
            "file_stem": f"anshun-{region.code}-{wave.code if wave else 'none'}",
        }


class DashboardView(ExportMixin, DashboardContextMixin, TemplateView):
    template_name = "surveys/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.dashboard_context())
        metric = self.request.GET.get("metric")
        metric = metric if metric in Metric.values else Metric.SECURITY_SENSE
        context["metric"] = metric
        context["metrics"] = Metric.choices
        context["map_config"] = {
            "region": context["region"].code,
            "level": context["region"].level,
            "metric": metric,
            "values": {
                p.code: round(p.rates[metric].rate, 2)
                for p in context["places"]
                if metric in p.rates and p.rates[metric].rate is not None
            },
            "tileUrl": settings.MAP_TILE_URL,
            "tileAttribution": settings.MAP_TILE_ATTRIBUTION,
            "center": settings.LEAFLET_CONFIG["DEFAULT_CENTER"],
            "zoom": settings.LEAFLET_CONFIG["DEFAULT_ZOOM"],
        }
        return context


class ReportView(DashboardContextMixin, TemplateView):
    """A printable page for the twice-yearly on-site meeting (browser print → PDF or paper)."""

    template_name = "surveys/report.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.dashboard_context())
        year = context["wave"].year if context["wave"] else None
        if year:
            context["tables"].append(
                assessment_table(selectors.assessment_rows(actor=self.request.user, year=year))
            )
        return context


class AssessmentView(ExportMixin, ScopedPageMixin, TemplateView):
    """Each county's safety figures beside its published economic indicators (同安排、同部署、同考核)."""

    template_name = "surveys/assessment.html"
    capability = "dashboard.view"
    selector = staticmethod(regions_visible_to)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        self.get_queryset()
        years = selectors.indicator_years()
        try:
            year = int(self.request.GET.get("year") or (years[-1] if years else 0))
        except ValueError as exc:
            raise Http404 from exc
        rows = selectors.assessment_rows(actor=self.request.user, year=year)
        apps = demo_apps()
        for row in rows:
            # The city's survey rates of the article's year reproduce the article; the
            # counties' are demo shares (anshun.provenance). Indicators are published figures.
            kinds = {
                provenance(f"surveys.{key}", round(m.rate, 2), region=row["region"], apps=apps)[0]
                for key, m in row["rates"].items()
                if m.rate is not None
            }
            row["provenance"] = SEED if kinds == {SEED} else DEMO if DEMO in kinds else ""
        context.update(
            {
                "demo_explanation": DEMO_EXPLANATION,
                "seed_source": SOURCE,
                "year": year,
                "years": years,
                "rows": rows,
                "kinds": EconomicIndicator.Kind.choices,
                "metrics": Metric.choices,
                "tables": [assessment_table(rows)],
                "file_stem": f"anshun-assessment-{year}",
            }
        )
        return context


# Problems listed on the page after a rejected upload; the count says how many there were in all.
SHOWN_ROW_ERRORS = 2000


class ResponsesUploadView(ScopedPageMixin, FormView):
    """Upload a wave's responses as CSV or XLSX through the intake command the API calls: all or
    nothing, every bad row listed with its number, field and reason. The intake runs in the
    request (it validates and writes in one transaction); the rates follow with the next rollup."""

    template_name = "surveys/upload.html"
    capability = "surveys.import"
    selector = staticmethod(selectors.responses_visible_to)
    form_class = ResponsesUploadForm

    def get(self, request, *args, **kwargs):
        self.get_queryset()  # the scope check every page makes
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        row_errors: list = []
        try:
            rows = read_upload(form.cleaned_data["file"])
            result = import_responses(actor=self.request.user, wave=form.cleaned_data["wave"], rows=rows)
        except ResponsesRejected as exc:
            row_errors = exc.errors
        except ValidationError as exc:
            add_service_errors(form, exc, {"rows": "file"})
        if row_errors or form.errors:
            return self.render_to_response(
                self.get_context_data(
                    form=form,
                    row_errors=row_errors[:SHOWN_ROW_ERRORS],
                    row_error_count=len(row_errors),
                    bad_rows=len({e.row for e in row_errors}),
                ),
                status=400,
            )
        messages.success(
            self.request,
            _("Upload accepted: %(created)s new responses, %(present)s already present.")
            % {"created": result.created, "present": result.already_present},
        )
        return redirect("surveys:upload")

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["columns"] = ["client_id", "community", "grid", "channel", "answered_on"]
        context["items"] = list(Item.objects.order_by("metric").values_list("code", flat=True))
        return context
