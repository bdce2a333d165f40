"""``{% load rollups %}{% figures_as_of %}``: how fresh a dashboard's rolled-up figures are."""

from django import template

from rollups.selectors import folded_at

register = template.Library()


@register.inclusion_tag("rollups/_as_of.html")
def figures_as_of() -> dict:
    return {"folded_at": folded_at()}
