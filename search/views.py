"""The search page: one box, results grouped by kind, each kind from its own scoped selector."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.views.generic import TemplateView

from anshun.scoping import assert_scoped
from anshun.views import ScopedPageMixin
from search import selectors, services
from search.forms import SearchForm
from search.models import Kind

# On the page for everything, each kind shows its best few; "more" opens that kind alone.
OVERVIEW_SIZE = 5


class SearchView(ScopedPageMixin, TemplateView):
    template_name = "search/search.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not selectors.searchable_kinds(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        form = SearchForm(request.GET or None)
        context = self.get_context_data(form=form, sections=[], searched=False, max_pages=selectors.MAX_PAGES)
        if form.is_bound and not form.is_valid():
            return self.render_to_response(context, status=400)
        if form.is_bound and form.query():
            context.update(self._results(form))
        return self.render_to_response(context)

    def _results(self, form: SearchForm) -> dict:
        user = self.request.user
        services.index_pending()  # a search sees what was written before it
        query, only = form.query(), form.cleaned_data.get("kind")
        kinds = [k for k in selectors.searchable_kinds(user) if not only or k == only]
        size = form.cleaned_data["page_size"] if only else OVERVIEW_SIZE
        page = form.cleaned_data["page"] if only else 1
        sections = []
        for kind in kinds:
            queryset = selectors.SELECTORS[kind](actor=user, query=query)
            assert_scoped(queryset, user)
            result = selectors.result_page(queryset=queryset, kind=kind, query=query, page=page, size=size)
            sections.append({"kind": kind, "label": Kind(kind).label, "result": result})
        return {
            "searched": True,
            "query": query,
            "only": only,
            "sections": sections,
            "found": any(section["result"].hits for section in sections),
        }
