"""Convix settings, read from the environment (see .env.example for every variable).

With nothing set, Convix runs on its embedded default: an embedded PostgreSQL with pgvector in
the project's data folder, an in-memory channel layer and in-process background work.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from convix import embedded_pg
from convix.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = embedded_pg.data_dir().parent


def _persistent_secret(name: str) -> str:
    """A random secret kept in the data folder, so the embedded default needs no configuration."""
    path = DATA_DIR / name
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(50)
    path.write_text(value)
    path.chmod(0o600)
    return value


# --- server ---------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or _persistent_secret("secret_key")
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
PUBLIC_URL = env_url("PUBLIC_URL", schemes=("http", "https"), default="http://127.0.0.1:8000").rstrip("/")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool(
    "SECURE_COOKIES", not DEBUG and PUBLIC_URL.startswith("https")
)

# Encryption at rest of store API keys, channel tokens and helpdesk keys
# (django-fernet-encrypted-fields derives the key from SECRET_KEY and this salt).
SALT_KEY = env_list("ENCRYPTION_KEY") or [_persistent_secret("encryption_key")]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "django_htmx",
    "channels",
    "convix",
    "apps.accounts",
    "apps.stores",
    "apps.channels",
    "apps.training",
    "apps.conversations",
    "apps.handoff",
    "apps.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "convix.middleware.AdminUnscopedMiddleware",
    "apps.stores.middleware.DashboardStoreMiddleware",
]

ROOT_URLCONF = "convix.urls"
WSGI_APPLICATION = "convix.wsgi.application"
ASGI_APPLICATION = "convix.asgi.application"

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
                "apps.stores.dashboard.dashboard_context",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
EMBEDDED_DATABASE = not DATABASE_URL
if DATABASE_URL:
    DATABASES = {"default": database_from_url("DATABASE_URL", DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": embedded_pg.DATABASE_NAME,
            "USER": "postgres",
            "HOST": str(embedded_pg.socket_dir()),
            "PORT": "",
        }
    }
# DATABASE_NAME overrides the database name alone (the test suite points the Celery worker it
# starts at its own test database this way).
if env_str("DATABASE_NAME"):
    DATABASES["default"]["NAME"] = env_str("DATABASE_NAME")
# Parallel test runs against one server need their own test database names.
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: broker, channel layer, cache ----------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # Channels' in-memory layer, sweeping expired messages at most once a second instead of on
    # every send (see convix/channel_layer.py).
    CHANNEL_LAYERS = {"default": {"BACKEND": "convix.channel_layer.SweepingInMemoryChannelLayer"}}

# --- celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or REDIS_URL or None
# Without a broker, background work runs in-process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = env_bool(
    "CELERY_TASK_ALWAYS_EAGER", not (REDIS_URL or env_str("CELERY_BROKER_URL"))
)
# In-process (eager) work must not turn a background failure into an error for the request that
# queued it; the ledger sweeper retries what failed.
CELERY_TASK_EAGER_PROPAGATES = env_bool("CELERY_TASK_EAGER_PROPAGATES", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "ai.*": {"queue": "ai"},
    "outbound.*": {"queue": "outbound"},
    "ingest.*": {"queue": "ingest"},
}
CELERY_TIMEZONE = "UTC"
# The inbound sweeper runs every INBOUND_SWEEP_INTERVAL_SECONDS and re-queues a message that has
# had no outcome for INBOUND_SWEEP_AFTER_SECONDS since it was last queued (longer than an agent
# run, provider timeouts and retries included, so a slow reply is not queued twice).
INBOUND_SWEEP_INTERVAL_SECONDS = env_float("INBOUND_SWEEP_INTERVAL_SECONDS", 30.0, minimum=1.0)
INBOUND_SWEEP_AFTER_SECONDS = env_float("INBOUND_SWEEP_AFTER_SECONDS", 60.0, minimum=1.0)
CELERY_BEAT_SCHEDULE = {
    # A sweep nobody ran within its interval (no worker up) is dropped, not piled up.
    "sweep-inbound": {
        "task": "maintenance.sweep_inbound",
        "schedule": INBOUND_SWEEP_INTERVAL_SECONDS,
        "options": {"expires": INBOUND_SWEEP_INTERVAL_SECONDS},
    },
    "requeue-stuck-ingestion": {"task": "ingest.requeue_stuck", "schedule": 300.0},
}

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/dashboard"
LOGOUT_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ADAPTER = "apps.accounts.adapter.AccountAdapter"

# --- REST API v1 (convix/api) ---------------------------------------------------------------
JWT_ACCESS_TOKEN_MINUTES = env_int("JWT_ACCESS_TOKEN_MINUTES", 15, minimum=1)
JWT_REFRESH_TOKEN_DAYS = env_int("JWT_REFRESH_TOKEN_DAYS", 30, minimum=1)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_TOKEN_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_TOKEN_DAYS),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": env_str("JWT_SECRET") or SECRET_KEY,
    "USER_ID_FIELD": "id",
}
# The refresh token travels in this httpOnly cookie (Secure outside DEBUG), scoped to /v1/auth/.
JWT_REFRESH_COOKIE = "convix_refresh"
JWT_REFRESH_COOKIE_PATH = "/v1/auth/"
JWT_REFRESH_COOKIE_SECURE = env_bool("JWT_REFRESH_COOKIE_SECURE", not DEBUG)
JWT_REFRESH_COOKIE_SAMESITE = env_str("JWT_REFRESH_COOKIE_SAMESITE", "Strict")
if JWT_REFRESH_COOKIE_SAMESITE not in ("Strict", "Lax", "None"):
    raise ImproperlyConfigured(
        "Environment variable JWT_REFRESH_COOKIE_SAMESITE must be Strict, Lax or None."
    )

# Rate limits: per client IP on public and auth endpoints, per store on the rest.
API_THROTTLE_RATES = {
    "auth": env_str("API_THROTTLE_AUTH", "20/min"),
    "public": env_str("API_THROTTLE_PUBLIC", "120/min"),
    "store": env_str("API_THROTTLE_STORE", "1200/min"),
    "user": env_str("API_THROTTLE_USER", "600/min"),
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "convix.api.authentication.JWTAuthentication",
        "convix.api.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "convix.api.schema.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "convix.api.pagination.CursorPagination",
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "convix.api.errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": API_THROTTLE_RATES,
    "PAGE_SIZE": 25,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Convix API",
    "DESCRIPTION": (
        "The REST API v1 for integrators. Authenticate with a JWT access token "
        "(`Authorization: Bearer <token>`, from `POST /v1/auth/login`) or a store API key "
        "(`Authorization: Api-Key <key>`). Errors always have the shape "
        '`{"code", "message", "fields"}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "apps.accounts.models.UserRole",
        "ApiKeyRoleEnum": ["ADMIN", "AGENT"],
        "ChannelTypeEnum": "apps.channels.models.ChannelType",
        "ChannelStatusEnum": "apps.channels.models.ChannelStatus",
        "DocTypeEnum": "apps.training.models.DocType",
        "NewDocTypeEnum": ["FAQ", "POLICY", "URL", "MANUAL"],
        "DocStatusEnum": "apps.training.models.DocStatus",
        "JobStatusEnum": "apps.training.models.JobStatus",
        "ConversationStatusEnum": "apps.conversations.models.ConvStatus",
        "ConversationStatusChangeEnum": ["ACTIVE", "RESOLVED", "ABANDONED"],
        "HandoffStatusEnum": "apps.handoff.models.HandoffStatus",
        "HandoffTriggerEnum": "apps.handoff.models.HandoffTrigger",
        "HandoffDestinationEnum": "apps.stores.models.HandoffDestination",
        "OrderStatusEnum": "apps.stores.models.OrderStatus",
        "PlatformEnum": "apps.stores.models.Platform",
        "PlanTierEnum": "apps.stores.models.PlanTier",
        "MessageRoleEnum": "apps.conversations.models.MessageRole",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["convix.api.schema.only_v1"],
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or DATA_DIR / "media")
MEDIA_URL = "/media/"
# Uploads (training files, catalog CSV) larger than this are refused.
API_MAX_UPLOAD_BYTES = env_int("API_MAX_UPLOAD_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_UPLOAD_BYTES + 1024 * 1024
# --- end of REST API v1 settings ------------------------------------------------------------

# --- AI -------------------------------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", schemes=("http", "https"))
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
OPENAI_TIMEOUT_SECONDS = env_float("OPENAI_TIMEOUT_SECONDS", 20.0, minimum=1.0, maximum=600.0)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2, minimum=0)
# "offline" (local MiniLM) or "openai" (any OpenAI-compatible endpoint).
EMBEDDINGS_PROVIDER = env_str("EMBEDDINGS_PROVIDER", "openai" if OPENAI_API_KEY else "offline")
if EMBEDDINGS_PROVIDER not in ("offline", "openai"):
    raise ImproperlyConfigured("Environment variable EMBEDDINGS_PROVIDER must be 'offline' or 'openai'.")
LLM_PROVIDER = env_str("LLM_PROVIDER", "openai" if OPENAI_API_KEY else "offline")
if LLM_PROVIDER not in ("offline", "openai"):
    raise ImproperlyConfigured("Environment variable LLM_PROVIDER must be 'offline' or 'openai'.")
# User-given URLs (URL training docs) may not point at private addresses, except in tests.
ALLOW_PRIVATE_URLS = env_bool("ALLOW_PRIVATE_URLS", False)

# --- web widget -----------------------------------------------------------------------------
WIDGET_TOKEN_TTL_SECONDS = env_int("WIDGET_TOKEN_TTL_SECONDS", 30 * 24 * 3600, minimum=60)
WIDGET_MAX_BODY_BYTES = env_int("WIDGET_MAX_BODY_BYTES", 16_384, minimum=1024)
WIDGET_MAX_MESSAGE_CHARS = env_int("WIDGET_MAX_MESSAGE_CHARS", 2000, minimum=1)
WIDGET_WAIT_SECONDS = env_float("WIDGET_WAIT_SECONDS", 25.0, minimum=0.0, maximum=120.0)
# Per-IP rate limits (DRF throttle syntax: "<count>/<second|minute|hour|day>").
WIDGET_RATE_MESSAGES = env_str("WIDGET_RATE_MESSAGES", "30/minute")
WIDGET_RATE_CONVERSATIONS = env_str("WIDGET_RATE_CONVERSATIONS", "20/minute")
WIDGET_RATE_CONFIG = env_str("WIDGET_RATE_CONFIG", "120/minute")
# A socket may send this many frames per 10 seconds before it is closed.
WIDGET_SOCKET_FRAMES_PER_10S = env_int("WIDGET_SOCKET_FRAMES_PER_10S", 40, minimum=1)

# --- channels (install-wide app credentials; per-store tokens live on each Channel) ---------
META_APP_SECRET = env_str("META_APP_SECRET")
META_VERIFY_TOKEN = env_str("META_VERIFY_TOKEN")
META_GRAPH_URL = env_url(
    "META_GRAPH_URL", schemes=("http", "https"), default="https://graph.facebook.com/v21.0"
)
INSTAGRAM_GRAPH_URL = env_url(
    "INSTAGRAM_GRAPH_URL", schemes=("http", "https"), default="https://graph.instagram.com/v21.0"
)
WHATSAPP_ACCESS_TOKEN = env_str("WHATSAPP_ACCESS_TOKEN")
WHATSAPP_PHONE_NUMBER_ID = env_str("WHATSAPP_PHONE_NUMBER_ID")
MESSENGER_PAGE_ACCESS_TOKEN = env_str("MESSENGER_PAGE_ACCESS_TOKEN")
INSTAGRAM_ACCESS_TOKEN = env_str("INSTAGRAM_ACCESS_TOKEN")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_PHONE_NUMBER = env_str("TWILIO_PHONE_NUMBER")
TWILIO_API_URL = env_url("TWILIO_API_URL", schemes=("http", "https"), default="https://api.twilio.com")
SLACK_SIGNING_SECRET = env_str("SLACK_SIGNING_SECRET")
SLACK_BOT_TOKEN = env_str("SLACK_BOT_TOKEN")
SLACK_API_URL = env_url("SLACK_API_URL", schemes=("http", "https"), default="https://slack.com/api")
SENDGRID_API_KEY = env_str("SENDGRID_API_KEY")
MAILGUN_SIGNING_KEY = env_str("MAILGUN_SIGNING_KEY")
POSTMARK_SERVER_TOKEN = env_str("POSTMARK_SERVER_TOKEN")
INBOUND_EMAIL_DOMAIN = env_str("INBOUND_EMAIL_DOMAIN", "inbound.convix.local")

# --- helpdesks (install-wide defaults; per-store keys live on StoreSettings) ----------------
ZENDESK_SUBDOMAIN = env_str("ZENDESK_SUBDOMAIN")
ZENDESK_EMAIL = env_str("ZENDESK_EMAIL")
ZENDESK_API_TOKEN = env_str("ZENDESK_API_TOKEN")
GORGIAS_DOMAIN = env_str("GORGIAS_DOMAIN")
GORGIAS_EMAIL = env_str("GORGIAS_EMAIL")
GORGIAS_API_KEY = env_str("GORGIAS_API_KEY")
FRESHDESK_DOMAIN = env_str("FRESHDESK_DOMAIN")
FRESHDESK_API_KEY = env_str("FRESHDESK_API_KEY")

# --- email ----------------------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Convix <no-reply@convix.local>")

# --- static files, i18n ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# htmx and Chart.js, installed from the npm registry by scripts/_venv.sh (package-lock.json).
for _prefix, _package_dist in (("vendor/htmx", "htmx.org/dist"), ("vendor/chartjs", "chart.js/dist")):
    if (BASE_DIR / "node_modules" / _package_dist).is_dir():
        STATICFILES_DIRS.append((_prefix, BASE_DIR / "node_modules" / _package_dist))
WHITENOISE_USE_FINDERS = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "pgserver": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
    },
}

# --- error reporting ------------------------------------------------------------------------
SENTRY_DSN = env_url("SENTRY_DSN", schemes=("http", "https"))
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(
        dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=env_float("SENTRY_TRACES_SAMPLE_RATE", 0.0)
    )
