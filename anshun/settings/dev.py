"""Local development: `make run`."""

from anshun.settings.base import *  # noqa: F403
from anshun.settings.base import env

DEBUG = True
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-not-secret-pingan-anshun")
ALLOWED_HOSTS = ["*"]
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="plain")  # noqa: F405
# Published, non-secret dev keys for the special-population data (never used in production).
# The key is base64 of "dev-only-NOT-SECRET-pii-key-0001".
PII_ENCRYPTION_KEYS = env.list(
    "PII_ENCRYPTION_KEYS", default=["ZGV2LW9ubHktTk9ULVNFQ1JFVC1waWkta2V5LTAwMDE="]
)
PII_LOOKUP_KEY = env.str("PII_LOOKUP_KEY", default="dev-only-not-secret-pii-lookup-key")
