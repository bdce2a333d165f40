"""The auditor's pages: the change list (filterable, exportable), one change, one object's history.

Thin: the scoped selectors decide what may be read, ``audit.changes`` renders it.
"""

from __future__ import annotations

from django.http import Http404
from django.views.generic import ListView

from anshun.exports import BatchSource, export_response
from anshun.views import ScopedPageMixin
from audit import selectors
from audit.changes import EXPORT_HEADERS, changes_for_model, export_row, load_changes
from audit.forms import ChangeFilterForm

EXPORT_LIMIT = 50_000


class ChangeListView(ScopedPageMixin, ListView):
    """Every recorded change in the auditor's jurisdiction, newest first."""

    template_name = "audit/change_list.html"
    capability = "audit.view"
    paginate_by = 50

    def get(self, request, *args, **kwargs):
        self.form = ChangeFilterForm(request.GET or None)
        if request.GET.get("export") in ("xlsx", "csv"):
            return self.export(request.GET["export"])
        return super().get(request, *args, **kwargs)

    def get_paginate_by(self, queryset):
        try:
            return max(1, min(int(self.request.GET.get("page_size", self.paginate_by)), 500))
        except ValueError:
            return self.paginate_by

    selector = staticmethod(selectors.changes_visible_to)

    def selector_arguments(self) -> dict:
        return {"filters": self.form.change_filter()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("export", None)
        context.update(
            form=self.form,
            changes=load_changes(context["object_list"], actor=self.request.user),
            query=query.urlencode(),
        )
        return context

    def export(self, export_format: str):
        """The changes in pages of 1,000 (``load_changes`` fills each page with one query per
        audited model), up to ``EXPORT_LIMIT``, streamed as each page is filled. The list is a
        union over every audited model's history, so it is paged by offset, bounded by the limit."""
        queryset = self.get_queryset()

        def batches():
            for start in range(0, EXPORT_LIMIT, 1000):
                chunk = list(queryset[start : start + 1000])
                yield [export_row(change) for change in load_changes(chunk, actor=self.request.user)]
                if len(chunk) < 1000:
                    return

        return export_response(
            self.request,
            capability="audit.view",
            filename="audit-trail",
            headers=EXPORT_HEADERS,
            source=BatchSource(batches, count=lambda: min(queryset.count(), EXPORT_LIMIT)),
        )


class ChangeDetailView(ScopedPageMixin, ListView):
    """One change in full: its diff against the previous row, and who, when, why."""

    template_name = "audit/change_detail.html"
    capability = "audit.view"

    selector = staticmethod(selectors.change_visible_to)

    def selector_arguments(self) -> dict:
        return {"model_key": self.kwargs["model_key"], "history_id": self.kwargs["history_id"]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        records = list(context["object_list"])
        if not records:
            raise Http404
        context["change"] = changes_for_model(self.kwargs["model_key"], records, actor=self.request.user)[0]
        return context


class ObjectHistoryView(ScopedPageMixin, ListView):
    """One object's changes, linked from its own page; auditors may also reach deleted objects."""

    template_name = "audit/object_history.html"
    paginate_by = 100

    selector = staticmethod(selectors.object_history_visible_to)

    def selector_arguments(self) -> dict:
        return {"model_key": self.kwargs["model_key"], "object_id": self.kwargs["object_id"]}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        changes = changes_for_model(
            self.kwargs["model_key"], list(context["object_list"]), actor=self.request.user
        )
        model = selectors.history_model_for(self.kwargs["model_key"]).instance_type
        user = self.request.user
        if not changes and not model.objects.visible_to(user).filter(pk=self.kwargs["object_id"]).exists():
            raise Http404  # neither its history nor the object itself is in the user's scope
        context.update(
            changes=changes,
            model_label=model._meta.verbose_name,
            object_id=self.kwargs["object_id"],
            can_audit=self.request.user.can("audit.view"),
        )
        return context
