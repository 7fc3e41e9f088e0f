"""Settings for the model registry: one module, every knob read from the environment.

Defaults run locally (SQLite, ORM broker, console email, DEBUG on). Production sets
DJANGO_DEBUG=0, DJANGO_SECRET_KEY and DATABASE_URL; with DEBUG off the secure settings below
switch on so that `manage.py check --deploy` is clean.
"""

import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from config.env import env, envbool, envint, envlist
from config.storage import artifact_storage_settings

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = envbool("DJANGO_DEBUG", True)
_DEV_SECRET = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdefghij"
SECRET_KEY = env("DJANGO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "simple_history",
    "django_q",
    "django_prometheus",
    "audit",
    "core",
    "registry",
    "governance",
    "policies",
    "evaluations",
    "ops",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # First, so that it times the whole answer and sees every status (core/logs.py).
    "core.logs.RequestLogMiddleware",
    # /healthz, /readyz, /metrics: before host checks, redirects and sessions (ops/middleware.py).
    "ops.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files straight after security (whitenoise's place): no session or audit work.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the address: NUL in it (and an empty admin _to_field) never reach a
    # view or a query (core/request_guard.py).
    "core.request_guard.RequestGuardMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "governance.middleware.DomainErrorPageMiddleware",
    # Last, as django-axes asks: it turns a locked-out login page attempt into the lockout page.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "governance.context_processors.navigation",
            ],
        },
    },
]

# Connections: Django holds one per thread, kept for DB_CONN_MAX_AGE seconds and checked before
# reuse (CONN_HEALTH_CHECKS), so a restarted database costs one failed check, not a 500. The web
# server's threads are a fixed pool (config/gunicorn.py), which bounds the total;
# docs/deployment.md, "Database connections", has the arithmetic.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# django-prometheus's wrapper of the PostgreSQL engine counts queries, errors and their time.
# SQLite keeps Django's own engine: tools that recognise SQLite by its engine name (the test
# runner's in-memory databases) would take the wrapper for another database.
_PROMETHEUS_ENGINES = {"django.db.backends.postgresql": "django_prometheus.db.backends.postgresql"}
_ENGINE = DATABASES["default"]["ENGINE"]
DATABASES["default"]["ENGINE"] = _PROMETHEUS_ENGINES.get(_ENGINE, _ENGINE)
if _ENGINE == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock at BEGIN, so the web server and the worker queue behind
    # each other instead of failing with "database is locked" halfway through a transaction.
    # WAL lets readers go on while one process writes (several web processes and the worker).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Connections are kept like PostgreSQL's (DB_CONN_MAX_AGE): opening one costs the pragmas
    # above on every request otherwise.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out attempt before any password is checked (see "Brute force").
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# In development whitenoise serves from the app folders directly; in production only what
# collectstatic gathered (hashed names, gzip beside each).
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = Path(env("DJANGO_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# Artifacts the registry holds (registry/custody.py): content-addressed and never changed, in
# the storage named "artifacts": the file system under MEDIA_ROOT/artifacts (ARTIFACT_STORAGE=
# file, the default) or an S3-compatible bucket (ARTIFACT_STORAGE=s3, ARTIFACT_S3_*;
# docs/storage.md), built by config/storage.py; ARTIFACT_STORAGE_BACKEND names another class.
# Uploads over ARTIFACT_MAX_BYTES (default 2 GiB) are refused with 413 and nothing is stored.
ARTIFACT_MAX_BYTES = envint("ARTIFACT_MAX_BYTES", 2 * 1024**3)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Served by whitenoise from the web process itself: compressed, with content-hashed names
    # (cached for a year) once DEBUG is off and `collectstatic` has run (bin/run does).
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
    "artifacts": artifact_storage_settings(),
}

# Request bodies: JSON bodies are capped by our parser too; 1 MiB strings must get a 4xx.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DJANGO_MAX_BODY_BYTES", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000

# Email: SMTP when EMAIL_HOST is set; otherwise each message is a file under EMAIL_FILE_PATH
# (var/mail), so the demo's hundreds of notifications do not bury make run's console (the same
# notifications are in each person's bell in the pages).
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "mail"))
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "model-registry@localhost")
# The address people reach the product at, for links in emails.
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")
# The MLflow tracking server whose registry is governed here (registry/mlflow/, docs/mlflow.md):
# when set, the scheduled job of migration registry 0005 syncs it; empty, the job does nothing.
MLFLOW_TRACKING_URI = env("MLFLOW_TRACKING_URI")

# Background jobs: django-q2 on the ORM broker by default, Redis when Q_REDIS_URL is set.
Q_CLUSTER = {
    "name": "model-registry",
    "workers": envint("Q_WORKERS", 2),
    "timeout": envint("Q_TIMEOUT", 600),
    "retry": envint("Q_RETRY", 660),
    "max_attempts": 2,
    "catch_up": False,
    "label": "Background jobs",
}
if env("Q_REDIS_URL"):
    Q_CLUSTER["redis"] = env("Q_REDIS_URL")
else:
    Q_CLUSTER["orm"] = "default"

_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")


def _throttle_rate(name: str, default: str) -> str | None:
    """An API rate such as "1200/min" from the environment; checked here so that a typo stops
    the start instead of turning every API call into a server error."""
    value = (env(name) or default).strip()
    if value.lower() == "off":
        return None
    if not _RATE.match(value):
        raise RuntimeError(f'{name} must look like "1200/min" (or "off"), not {value!r}')
    return value


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes unauthenticated calls 401, not 403.
        "core.api.authentication.StrictTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only; the endpoints that take file uploads name the multipart parser themselves.
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler.exception_handler",
    "NON_FIELD_ERRORS_KEY": "nonFieldErrors",
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Per-user rates for reads and for writes, per address for anonymous callers (only the token
    # endpoint takes them); counted in the default cache (CACHES below). "off" lifts a limit.
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ReadWriteUserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user_read": _throttle_rate("API_THROTTLE_READ", "1200/min"),
        "user_write": _throttle_rate("API_THROTTLE_WRITE", "240/min"),
        "anon": _throttle_rate("API_THROTTLE_ANON", "60/min"),
    },
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Model Registry API",
    "DESCRIPTION": (
        "Governance-first AI model registry. JSON bodies use camelCase; lists are paginated "
        "with ?page= and ?pageSize= (at most 500). Errors: 400 invalid input, 401 not "
        "authenticated, 403 refused (detail names the rule), 404 unknown or not visible, "
        "409 not allowed in the current state (detail and state), 415 a body that is not "
        "JSON, 429 too many requests (Retry-After); every operation lists the ones it gives."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RiskTierEnum": "registry.choices.RiskTier",
        "VersionStateEnum": "registry.choices.VersionState",
        "EnvironmentEnum": "governance.choices.Environment",
        "NotificationKindEnum": "governance.choices.NotificationKind",
        "ReportKindEnum": "audit.models.ReportKind",
    },
    # The standard error answers (400/401/403/404/409/415/429 and their shapes) on every
    # operation, from its method, path and authentication (core/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.add_error_responses",
    ],
}

# Cache: the API throttle counts requests here (sessions, login failures and locks live in the
# database). Local memory is per process: several web processes need a shared cache, Redis
# through django-redis when CACHE_URL (or REDIS_URL) is set. Redis down is then an error, not
# a silently lifted rate limit.
_CACHE_URL = env("CACHE_URL") or env("REDIS_URL")
CACHES = {
    "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": _CACHE_URL}
    if _CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "registry"}
}

# Brute force: django-axes counts failed logins on every path that goes through
# django.contrib.auth.authenticate (login page, admin login, POST /api/v1/auth/token/), in the
# database (so every process shares them), and refuses further attempts for the cool-off.
_AXES_PARAMETERS = {"username", "ip_address", "user_agent"}


def _lockout_parameters(value: str) -> list:
    """Lockout parameters from the environment: "username,ip_address" locks a username (from
    any address) and, separately, an address (whatever names it tries), while
    "username+ip_address" would lock only the pair."""
    parameters: list = []
    for item in (part.strip() for part in value.split(",")):
        names = [name.strip() for name in item.split("+")]
        if not item or not set(names) <= _AXES_PARAMETERS:
            raise RuntimeError(f"AXES_LOCKOUT_PARAMETERS: unknown parameter in {value!r}")
        parameters.append(names[0] if len(names) == 1 else names)
    return parameters


AXES_ENABLED = envbool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
if AXES_FAILURE_LIMIT < 1 or AXES_COOLOFF_TIME.total_seconds() < 60:
    raise RuntimeError("AXES_FAILURE_LIMIT and AXES_COOLOFF_MINUTES must be at least 1")
# Per username AND per address: one account guessed from many addresses is locked, and one
# address spraying many accounts is locked, each after AXES_FAILURE_LIMIT failures.
AXES_LOCKOUT_PARAMETERS = _lockout_parameters(
    env("AXES_LOCKOUT_PARAMETERS") or "username,ip_address"
)
# A success does not wipe the count: with per-address counting, an attacker's own good login
# would otherwise reset the address's failures between guesses.
AXES_RESET_ON_SUCCESS = False
# An attempt while locked out starts the cool-off again, so a client that keeps trying stays out.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = True
# The same client address as the audit trail (X-Forwarded-For trusted AUDIT_TRUSTED_PROXY_COUNT
# hops only), and our own 429 answer (governance/lockout.py), which also audits the lockout.
AXES_CLIENT_IP_CALLABLE = "audit.middleware.client_ip"
# The attempted username cut to a username's length (axes would store an overlong one as is).
AXES_USERNAME_CALLABLE = "governance.lockout.attempted_username"
AXES_LOCKOUT_CALLABLE = "governance.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Logins are in the audit trail already; axes' own access log would be a second, mutable copy.
AXES_DISABLE_ACCESS_LOG = True

# Content-Security-Policy on every response (django-csp). Scripts only from our origin or inline
# with the per-response nonce (templates use {{ request.csp_nonce }}); no inline event handlers.
# <style> elements likewise; style *attributes* stay allowed (style-src-attr) because the
# server-rendered SVG charts carry one on their root element and third-party admin templates
# (django-simple-history) use them; they cannot run script, and img-src keeps them from loading
# anything from elsewhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Prometheus metrics at /metrics (ops/metrics.py): for a caller sending
# "Authorization: Bearer $METRICS_TOKEN", or from an address in METRICS_ALLOWED_IPS (this host
# by default). With several web processes PROMETHEUS_MULTIPROC_DIR (bin/run sets it) sums them.
METRICS_TOKEN = env("METRICS_TOKEN")
METRICS_ALLOWED_IPS = envlist("METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])

# Guardian: no anonymous user object; we never grant anything to anonymous visitors.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# Audit: trust X-Forwarded-For only behind a proxy we were told about.
AUDIT_TRUSTED_PROXY_COUNT = envint("AUDIT_TRUSTED_PROXY_COUNT", 0)
# The Ed25519 private key (PEM PKCS8, mode 0600) that signs the audit chain's checkpoints. It
# lives outside the database on purpose: whoever can rewrite the audit tables must not also
# hold the key. `make run` creates it if missing (manage.py audit_signing_key).
AUDIT_SIGNING_KEY_FILE = Path(
    env("AUDIT_SIGNING_KEY_FILE", str(BASE_DIR / "var" / "audit-signing-key.pem"))
)
# Retired signing keys and the endorsements by which each successor vouches for them
# (`manage.py audit_signing_key --rotate`; docs/deployment.md); empty: audit-retired-keys/
# beside the key file.
AUDIT_RETIRED_KEYS_DIR = env("AUDIT_RETIRED_KEYS_DIR")

# Logs: one JSON object per line on standard error (DJANGO_LOG_FORMAT=text for people reading a
# terminal), each with the request id that its audit events carry (core/logs.py).
LOG_FORMAT = env("DJANGO_LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "text"}:
    raise RuntimeError(f'DJANGO_LOG_FORMAT must be "json" or "text", not {LOG_FORMAT!r}')
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.logs.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SECURE_SSL_REDIRECT = envbool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = envint("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    # Off only where the registry is served over plain HTTP on purpose (`make run` on this
    # machine); behind the TLS load balancer they stay on.
    SESSION_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Single sign-on through the bank's OpenID Connect provider (config/oidc.py reads its own
# environment); local accounts stay for break-glass.
from config.oidc import *  # noqa: E402,F403

AUTHENTICATION_BACKENDS += OIDC_AUTHENTICATION_BACKENDS  # noqa: F405
