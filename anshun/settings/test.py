"""Tests: the real PostGIS and Redis started by `make test`, fast hashing, no map tiles."""

from anshun.env import required
from anshun.settings.base import *  # noqa: F403
from anshun.settings.base import BASE_DIR, LEAFLET_CONFIG, env

# Tests run only against services named explicitly (`make test` starts throwaway ones).
required("DATABASE_URL")
required("REDIS_URL")

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["*"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAP_TILE_URL = ""
LEAFLET_CONFIG = {**LEAFLET_CONFIG, "TILES": []}
MEDIA_ROOT = BASE_DIR / ".local" / "test-media"
STORAGES = {
    "default": {"BACKEND": "anshun.stored_files.TransactionalFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
CELERY_TASK_ALWAYS_EAGER = False
# Tests read figures straight after writing records; the cache has its own test.
DASHBOARD_TILE_CACHE_SECONDS = 0
# A session's idle clock restarts (one write) at most hourly here, so a test that counts a page's
# queries before and after a long set-up counts the page, not the wall clock; the refresh itself
# is tested with the production interval.
SESSION_IDLE_REFRESH_SECONDS = 3600
_ = env
# The suite makes thousands of API calls; throttling has its own test with low rates.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"user": "1000000/minute", "anon": "1000000/minute"},
}
API_TOKEN_MINT_RATE = "1000000/minute"  # noqa: S105 - a rate, not a secret
API_TOKEN_FAILURE_RATE = "1000000/minute"  # noqa: S105 - a rate, not a secret
LOGGING = {**LOGGING, "handlers": {**LOGGING["handlers"]}}  # noqa: F405
LOGGING["handlers"]["console"] = {**LOGGING["handlers"]["console"], "formatter": "plain"}
# Published, non-secret test keys for the special-population data (never used in production).
# The key is base64 of "test-only-NOT-SECRET-pii-key-001".
PII_ENCRYPTION_KEYS = env.list(
    "PII_ENCRYPTION_KEYS", default=["dGVzdC1vbmx5LU5PVC1TRUNSRVQtcGlpLWtleS0wMDE="]
)
PII_LOOKUP_KEY = env.str("PII_LOOKUP_KEY", default="test-only-not-secret-pii-lookup-key")
