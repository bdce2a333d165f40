"""The one place that reads the process environment.

Settings modules ask this reader for every external value, so a missing
required variable fails loudly at start-up instead of defaulting silently.
"""

import environ

env = environ.Env()


def required(name: str) -> str:
    """Return a variable that production cannot run without, or stop start-up."""
    value = env.str(name, default="")
    if not value:
        raise environ.ImproperlyConfigured(f"Environment variable {name} must be set.")
    return value
