"""Settings shared by every environment. Environment-specific modules import from here."""

from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from anshun.env import env
from anshun.results import result_backend_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
DEBUG = False
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

INSTALLED_APPS = [
    # django.contrib.admin behind the two-step login (accounts.admin_site).
    "accounts.admin_site.AnshunAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "django_celery_beat",
    "axes",
    "django_otp",
    "anshun",
    "accounts",
    "grids",
    "mediation",
    "special_groups",
    "safety_cells",
    "incidents",
    "surveys",
    "registry",
    "assessment",
    "simple_history",
    "audit",
    "rollups",
    # After every app with searchable records (its demo loader indexes theirs).
    "search",
]

MIDDLEWARE = [
    "anshun.observability.RequestObservabilityMiddleware",
    "anshun.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "anshun.middleware.ChineseUnlessChosenMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "anshun.middleware.IdleTimeoutMiddleware",
    # Makes the signed-in user (session, or a DRF token once authenticated) the author of history rows.
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.middleware.TwoFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "anshun.middleware.CommandRefusedMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "anshun.urls"
WSGI_APPLICATION = "anshun.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "anshun.context_processors.navigation",
            ],
        },
    },
]


def _local_service_port(name: str) -> str | None:
    """The port `make run` gave this checkout's own service (`.local/<name>.port`), if any.

    Defaults come only from the checkout's own services, never from a fixed port,
    so two checkouts on one machine can never share a database by accident.
    """
    port_file = BASE_DIR / ".local" / f"{name}.port"
    return port_file.read_text().strip() if port_file.exists() else None


_PG_PORT = _local_service_port("pg")
_REDIS_PORT = _local_service_port("redis")
DATABASES = {
    "default": env.db_url(
        "DATABASE_URL",
        default=f"postgis://postgres@127.0.0.1:{_PG_PORT}/anshun" if _PG_PORT else "postgis://unset/unset",
    )
}
DATABASES["default"]["ENGINE"] = "django.contrib.gis.db.backends.postgis"
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Counts failed logins and refuses a locked-out username/address before checking the password.
    "axes.backends.AxesStandaloneBackend",
    # Django's password check for people; service accounts never pass it (accounts.backends).
    "accounts.backends.PeopleModelBackend",
]
# Five failures for the same username from the same address lock it for 15 minutes.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Idle session timeouts (seconds), see anshun.middleware.IdleTimeoutMiddleware.
SESSION_IDLE_TIMEOUT_PRIVILEGED = env.int("SESSION_IDLE_TIMEOUT_PRIVILEGED", default=30 * 60)
SESSION_IDLE_TIMEOUT_FIELD = env.int("SESSION_IDLE_TIMEOUT_FIELD", default=12 * 60 * 60)
# The idle clock is restarted (the session written) at most this often, not on every request.
SESSION_IDLE_REFRESH_SECONDS = env.int("SESSION_IDLE_REFRESH_SECONDS", default=60)
# Two-factor sign-in (accounts.two_factor): open to every person; roles listed here
# (comma-separated role codes, e.g. "admin,city_official") must enrol before they can work.
# Production requires it of case officers, auditors and admins by default (settings.production).
TWO_FACTOR_REQUIRED_ROLES = env.list("TWO_FACTOR_REQUIRED_ROLES", default=[])
# API tokens (accounts.tokens): service accounts' tokens from an admin, people's from password + code.
API_TOKEN_SERVICE_DAYS = env.int("API_TOKEN_SERVICE_DAYS", default=90)
API_TOKEN_SERVICE_MAX_DAYS = env.int("API_TOKEN_SERVICE_MAX_DAYS", default=366)
API_TOKEN_PERSON_HOURS = env.int("API_TOKEN_PERSON_HOURS", default=12)
API_TOKEN_LAST_USED_PRECISION = 300  # seconds: "last used" is written at most this often
# Requests to the token exchange, and keys that fail to authenticate, per client address.
API_TOKEN_MINT_RATE = env.str("API_TOKEN_MINT_RATE", default="10/minute")
API_TOKEN_FAILURE_RATE = env.str("API_TOKEN_FAILURE_RATE", default="30/minute")
OTP_TOTP_ISSUER = "Ping'an Anshun"
# Admins may delete a user's devices (a lost phone) but never read their keys or backup codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # the offline outbox reads it to send queued reports
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese first; English on request. Store UTC, show Asia/Shanghai.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".local" / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # npm-installed libraries (package.json), served from here like every other asset.
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
# Uploaded files are never served by URL from MEDIA_ROOT: each app's file view checks the owning
# object's scope and answers through anshun.files (MEDIA_URL is only Django's default, unused).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / ".local" / "media")))
# Set to nginx's `internal` location (e.g. "/protected-media/") to let nginx send the files the
# views allowed (X-Accel-Redirect); empty: Django streams them itself.
MEDIA_ACCEL_REDIRECT_PREFIX = env.str("MEDIA_ACCEL_REDIRECT_PREFIX", default="")
STORAGES = {
    "default": {"BACKEND": "anshun.stored_files.TransactionalFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Size limits on what a client may send. A non-file body (JSON, form fields) over
# DATA_UPLOAD_MAX_MEMORY_SIZE is refused (413 on the API); files spill to disk above
# FILE_UPLOAD_MAX_MEMORY_SIZE, and a whole request over REQUEST_MAX_BYTES is refused before
# it is read (anshun.middleware.RequestSizeLimitMiddleware). Each upload path also caps its
# own files (incident attachments, evidence photos, imports), see anshun.uploads.
# The largest legitimate body is a full sync batch: 1000 reports with 4000-character Chinese
# descriptions, up to 6 bytes a character when a client escapes them (\uXXXX), about 25 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_BYTES", default=32 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_BYTES", default=5 * 1024 * 1024)
REQUEST_MAX_BYTES = env.int("REQUEST_MAX_BYTES", default=60 * 1024 * 1024)
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
IMPORT_MAX_BYTES = env.int("IMPORT_MAX_BYTES", default=50 * 1024 * 1024)

REDIS_URL = env.str(
    "REDIS_URL", default=f"redis://127.0.0.1:{_REDIS_PORT}/0" if _REDIS_PORT else "redis://unset:1/0"
)
# Redis away: throttles and caches fall back to process memory instead of failing (anshun.cache).
CACHES = {
    "default": {
        "BACKEND": "anshun.cache.FailSoftRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "anshun",
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = result_backend_url(REDIS_URL)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# A worker killed mid-task must not lose the task: acknowledge only after it ran,
# take one task at a time, and requeue tasks whose worker died.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# No task may run longer than this (seconds); the few that could are given their own limit.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=12 * 60)
# A message taken by a worker that died without acknowledging it is handed out again after
# this many seconds (a starting worker looks at once, a running one about every 100 s). It must exceed
# the longest a task may run, or a task still running would be handed to a second worker:
# `manage.py check` refuses a time limit at or above it (anshun.checks).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=15 * 60),
    "socket_connect_timeout": 2,
}
# Redis away: a send fails within about a second (and is kept, anshun.background) rather
# than holding the request; workers keep trying to reconnect for as long as it takes.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_REDIS_RETRY_ON_TIMEOUT = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes each job's last run to the database as soon as it sends it, so a restart
# neither repeats nor forgets a run.
CELERY_BEAT_SYNC_EVERY = 1
# Periodic jobs; django-celery-beat copies them into its tables, where admins can edit them.
# Hourly and daily jobs are crontab schedules: they run at fixed times of the clock, which a
# restart of beat cannot move, and a run missed while beat was down is made up once when it
# starts. Intervals are kept only for the frequent jobs, where "every N minutes" is the point.
CELERY_BEAT_SCHEDULE = {
    # One line per job, so that apps adding jobs never touch each other's lines.
    "send-kept-tasks": {"task": "anshun.tasks.send_kept_tasks", "schedule": 60.0},
    "requeue-stalled-grid-imports": {"task": "grids.tasks.requeue_stalled_grid_imports", "schedule": 600.0},
    "special-groups-daily-tasks": {
        "task": "special_groups.tasks.plan_special_group_tasks",
        "schedule": crontab(minute=10),
    },
    "mediation-deadlines": {"task": "mediation.tasks.check_deadlines", "schedule": crontab(minute=5)},
    "rollup-survey-metrics": {"task": "surveys.tasks.rollup_surveys", "schedule": 300.0},
    "assessment-scores": {"task": "assessment.tasks.compute_assessment", "schedule": crontab(minute=20)},
    "escalate-overdue-incidents": {"task": "incidents.tasks.escalate_overdue_incidents", "schedule": 300.0},
    "refresh-safety-coverage": {"task": "safety_cells.tasks.refresh_coverage", "schedule": 600.0},
    "fold-dashboard-rollups": {"task": "rollups.tasks.fold_rollups", "schedule": 60.0},
    "tidy-export-jobs": {"task": "anshun.tasks.tidy_export_jobs", "schedule": 300.0},
    "announce-due-soon-incidents": {"task": "incidents.tasks.announce_due_soon", "schedule": 300.0},
    "review-incident-backlog": {"task": "incidents.tasks.review_backlog", "schedule": crontab(minute=20)},
    "index-search-documents": {"task": "search.tasks.index_search_documents", "schedule": 60.0},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "accounts.authentication.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["anshun.api.filters.StrictFilterBackend"],
    # DRF's parsers, with JSON nesting limited (deep nesting would exhaust the stack: a 500).
    "DEFAULT_PARSER_CLASSES": [
        "anshun.api.parsers.DepthLimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "anshun.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "anshun.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "anshun.api.exceptions.exception_handler",
    # Per-token (per-user) and per-address limits; counters live in the Redis cache.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.UserRateThrottle",
        "rest_framework.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_RATE_USER", default="1200/minute"),
        "anon": env.str("API_RATE_ANON", default="60/minute"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ping'an Anshun API",
    "DESCRIPTION": (
        "REST API of the Ping'an Anshun grid-governance platform. Every endpoint is scoped "
        "to the caller's jurisdiction and role; objects outside it answer 404."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its viewers are for signed-in users and sync clients only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several models name their workflow states "status"; give each enum its own name.
    "ENUM_NAME_OVERRIDES": {
        "EnrollmentStatusEnum": "special_groups.models.Enrollment.Status",
        "MediationCaseStatusEnum": "mediation.models.MediationCase.Status",
        "IncidentStatusEnum": "incidents.models.Incident.Status",
        "GridImportStatusEnum": "grids.models.GridImport.Status",
        "IncidentSourceEnum": "incidents.models.Incident.Source",
        "MediationCaseSourceEnum": "mediation.models.MediationCase.Source",
    },
}

# Special-population personal data (names, ID numbers, phones, addresses) is encrypted at
# rest. Keys live outside the database: PII_ENCRYPTION_KEYS is a comma-separated list of
# Fernet keys, newest first (prepend a new key, run `manage.py rotate_pii_keys`, then drop
# the old one); PII_LOOKUP_KEY keys the HMAC through which ID numbers are looked up.
PII_ENCRYPTION_KEYS = env.list("PII_ENCRYPTION_KEYS", default=[])
PII_LOOKUP_KEY = env.str("PII_LOOKUP_KEY", default="")

# How an Open311 reporter is told that their request changed status: dotted paths of classes
# with ``send(*, contact, message)`` (incidents.open311_notify). With no SMS or e-mail gateway
# configured the logging backend records that a message was due (contact details masked).
# Add "incidents.open311_notify.EmailBackend" once EMAIL_HOST is set up.
OPEN311_REPORTER_BACKENDS = env.list(
    "OPEN311_REPORTER_BACKENDS", default=["incidents.open311_notify.LoggingBackend"]
)
# Staff notifications (incidents.notifications): in-app always; these further delivery backends
# run in a Celery task after the commit, each notification at most once per backend. Dotted paths
# of classes with ``name`` and ``send(*, notification, text)``: "incidents.notifications.SmsBackend"
# (the default) and "incidents.notifications.EmailBackend" (add it once EMAIL_HOST is set up).
INCIDENT_NOTIFICATION_BACKENDS = env.list(
    "INCIDENT_NOTIFICATION_BACKENDS", default=["incidents.notifications.SmsBackend"]
)
# The SMS gateway: the dotted path of a class implementing incidents.notifications.SmsGateway
# (``send_sms(*, phone, text)``, constructed without arguments, reading its own credentials from
# the environment). Empty: no gateway, and SmsBackend only logs that a text was due (number masked).
NOTIFICATION_SMS_GATEWAY = env.str("NOTIFICATION_SMS_GATEWAY", default="")
# How far ahead the due-soon job warns the handling unit of its deadline (hours).
NOTIFICATION_DUE_SOON_HOURS = env.int("NOTIFICATION_DUE_SOON_HOURS", default=4)
# Two-factor keys (TOTP secrets) are encrypted under these Fernet keys, newest first; when empty,
# under PII_ENCRYPTION_KEYS. Backup codes and API keys are stored only as digests.
TWO_FACTOR_ENCRYPTION_KEYS = env.list("TWO_FACTOR_ENCRYPTION_KEYS", default=[])

# Map tiles come from a configurable server; government networks may run their own.
# How long the costly dashboard figures (see anshun/dashboard.py) may be reused; 0 turns it off.
DASHBOARD_TILE_CACHE_SECONDS = env.int("DASHBOARD_TILE_CACHE_SECONDS", default=120)

MAP_TILE_URL = env.str("MAP_TILE_URL", default="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="&copy; OpenStreetMap contributors")
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (26.25, 105.93),
    "DEFAULT_ZOOM": 8,
    "MIN_ZOOM": 6,
    "MAX_ZOOM": 18,
    "TILES": [("OSM", MAP_TILE_URL, {"attribution": MAP_TILE_ATTRIBUTION})] if MAP_TILE_URL else [],
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
}

# Structured (JSON) logs with the request id, or plain text for a developer's terminal.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "anshun.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": env.str("LOG_FORMAT", default="json"),
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-axes logs every login at INFO; lock-outs still reach the log as warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Prometheus scrapes /metrics from these addresses only.
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])

# Content-Security-Policy: no inline script anywhere; map tiles from the configured server.
_TILE_ORIGIN = "/".join(MAP_TILE_URL.split("/")[:3]) if MAP_TILE_URL.startswith("http") else ""
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *([_TILE_ORIGIN] if _TILE_ORIGIN else [])],
        "connect-src": ["'self'"],
        "worker-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Debian 12 ships GDAL 3.6, which cannot block file/network access while parsing
# spatial references. The platform never hands user-supplied SRS text to GDAL:
# uploads are parsed by GEOS/shapely as GeoJSON in SRID 4326.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
