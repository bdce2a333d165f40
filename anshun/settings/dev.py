"""Local development: `make run`."""

from anshun.settings.base import *  # noqa: F403
from anshun.settings.base import env

DEBUG = True
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-not-secret-pingan-anshun")
ALLOWED_HOSTS = ["*"]
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="plain")  # noqa: F405
