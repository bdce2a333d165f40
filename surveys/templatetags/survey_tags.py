from django import template

register = template.Library()


@register.filter
def get(mapping, key):
    """``mapping|get:key`` for dicts keyed by a variable."""
    if not mapping:
        return None
    return mapping.get(key)
