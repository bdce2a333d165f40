"""``{% load figure_marks %}{% figure_mark tile %}``: a figure's provenance mark (anshun.provenance).

The same HTML as ``templates/figure_mark.html``, written in Python: a dashboard shows one mark per
tile, and an include per tile (a context pushed, a template rendered) cost more than the figures'
own rendering."""

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from anshun.provenance import DEMO, DEMO_EXPLANATION, SEED, SOURCE

register = template.Library()


@register.simple_tag
def figure_mark(mark, testid: str = "demo-mark") -> str:
    """The mark of ``mark`` (a Tile or a FigureMark): "Demo data", the article as the source, or
    nothing."""
    if mark.provenance == DEMO:
        return format_html(
            '<small class="figure-mark demo" data-testid="{}" title="{}">{}</small>',
            testid,
            DEMO_EXPLANATION,
            gettext("Demo data"),
        )
    if mark.provenance == SEED:
        text = gettext("Source: the article (“%(quote)s”)") % {"quote": escape(mark.source)}
        return format_html(
            '<small class="figure-mark seed" data-testid="seed-mark" title="{}">{}</small>',
            SOURCE,
            mark_safe(text),  # noqa: S308 - our catalogue's words around the escaped quote
        )
    return ""
