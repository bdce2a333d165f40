"""Production: every secret from the environment, hardened transport and cookies."""

from anshun.env import env, required
from anshun.results import result_backend_url
from anshun.settings.base import *  # noqa: F403

DEBUG = False
SECRET_KEY = required("DJANGO_SECRET_KEY")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
DATABASES = {"default": env.db_url("DATABASE_URL")}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
REDIS_URL = required("REDIS_URL")
PII_ENCRYPTION_KEYS = required("PII_ENCRYPTION_KEYS").split(",")
PII_LOOKUP_KEY = required("PII_LOOKUP_KEY")
# Whoever administers the platform, audits it or holds a special-population caseload signs in with
# two factors; set the variable to widen (or, knowingly, to narrow) the list.
TWO_FACTOR_REQUIRED_ROLES = env.list(
    "TWO_FACTOR_REQUIRED_ROLES", default=["case_officer", "auditor", "admin"]
)
CACHES = {"default": {"BACKEND": "anshun.cache.FailSoftRedisCache", "LOCATION": REDIS_URL}}
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = result_backend_url(REDIS_URL)

STORAGES = {
    "default": {"BACKEND": "anshun.stored_files.TransactionalFileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_AGE = 60 * 60 * 8
# The container health check calls /healthz over plain HTTP from inside the pod.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Errors to Sentry (or a compatible self-hosted server) when a DSN is configured.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=0.0)
