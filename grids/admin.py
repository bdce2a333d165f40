from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from anshun.admin_access import ReadOnlyAdminMixin
from anshun.admin_maps import MapAdmin
from grids.models import Grid, GridImport, GridOffice, Region
from grids.services.grid_import import source_problem, start_grid_import


class GridImportForm(forms.ModelForm):
    class Meta:
        model = GridImport
        fields = ["source"]

    def clean_source(self):
        source = self.cleaned_data["source"]
        problem = source_problem(source)
        if problem:
            raise forms.ValidationError(problem)
        return source


class GeometryFromLoadersOnly(ReadOnlyAdminMixin):
    """Divisions come from the NBS loader and grids from ``import_grids`` (all-or-nothing, every
    feature checked): neither is edited row by row here, where a changed parent or polygon would
    silently move rows between jurisdictions."""


@admin.register(Region)
class RegionAdmin(GeometryFromLoadersOnly, MapAdmin):
    list_display = ("code", "name", "level", "kind", "parent", "boundary_is_demo")
    list_filter = ("level", "kind", "boundary_is_demo")
    search_fields = ("code", "name")
    raw_id_fields = ("parent",)
    list_select_related = ("parent",)
    readonly_fields = ("path",)


@admin.register(GridOffice)
class GridOfficeAdmin(MapAdmin):
    """Offices' names and phone numbers are reference data kept here; their code and seat place
    the office (and its staff's jurisdiction) in the tree, so they are fixed once created, and an
    office is never deleted here (its grids, staff and records hang from it)."""

    list_display = ("code", "name", "seat", "phone")
    search_fields = ("code", "name", "seat__name")
    raw_id_fields = ("seat",)
    list_select_related = ("seat",)

    def get_readonly_fields(self, request, obj=None):
        return ("code", "seat") if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Grid)
class GridAdmin(GeometryFromLoadersOnly, MapAdmin):
    list_display = ("code", "name", "village", "office", "is_demo")
    list_filter = ("is_demo",)
    search_fields = ("code", "name", "village__name", "office__name")
    raw_id_fields = ("village", "office")
    list_select_related = ("village", "office")


@admin.register(GridImport)
class GridImportAdmin(admin.ModelAdmin):
    """Upload a GeoJSON file of real grids; a Celery worker validates and applies it."""

    form = GridImportForm

    list_display = (
        "source",
        "status",
        "progress_bar",
        "feature_count",
        "imported_count",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status",)
    readonly_fields = (
        "status",
        "progress_bar",
        "feature_count",
        "imported_count",
        "moved_report",
        "attempts",
        "error_report",
        "created_by",
        "created_at",
        "finished_at",
    )
    fields = ("source", *readonly_fields)
    list_select_related = ("created_by",)

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: GridImport):
        return format_html('<progress max="100" value="{}"></progress> {}%', obj.progress, obj.progress)

    @admin.display(description=_("rows moved"))
    def moved_report(self, obj: GridImport):
        if not obj.moved:
            return "-"
        return format_html(
            "<ul>{}</ul>",
            format_html(
                "".join(
                    format_html(
                        "<li>{}: {}</li>",
                        label,
                        _(
                            "%(placed)d placed (%(by_point)d by point, %(by_village)d by village), "
                            "%(moved)d moved"
                        )
                        % counts,
                    )
                    for label, counts in obj.moved.items()
                )
            ),
        )

    @admin.display(description=_("errors"))
    def error_report(self, obj: GridImport):
        if not obj.errors:
            return "-"
        return format_html(
            "<ol>{}</ol>",
            format_html(
                "".join(
                    format_html("<li>#{} {}: {}</li>", e["feature"], e["code"] or "-", e["reason"])
                    for e in obj.errors
                )
            ),
        )

    def changelist_view(self, request, extra_context=None):
        """The list refreshes itself while an import is waiting or running, so progress moves."""
        unfinished = GridImport.objects.filter(
            status__in=[GridImport.Status.PENDING, GridImport.Status.RUNNING]
        ).exists()
        return super().changelist_view(
            request, {**(extra_context or {}), "has_unfinished_imports": unfinished}
        )

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # an import's record stays, whatever became of it

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = start_grid_import(actor=request.user, source=form.cleaned_data["source"])
        obj.pk = created.pk
