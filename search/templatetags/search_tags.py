"""The search box of the top bar, shown to those whose role may read at least one kind."""

from django import template

from search.selectors import searchable_kinds

register = template.Library()


@register.inclusion_tag("search/_box.html", takes_context=True)
def search_box(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    show = user is not None and bool(searchable_kinds(user))
    q = (
        request.GET.get("q", "")
        if show and request.resolver_match and request.resolver_match.view_name == "search:search"
        else ""
    )
    return {"show": show, "q": q[:100]}
