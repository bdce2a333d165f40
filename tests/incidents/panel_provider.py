"""A panel provider as another app would write one, for the panel-hook test."""


def panel(*, actor, incident):
    if incident.category.duty != "environment":
        return None
    return {"template": "incidents/test_panel.html", "context": {"greeting": f"panel for {actor.username}"}}
