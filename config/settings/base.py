"""Settings shared by every environment, read from the environment.

With nothing set the project runs on embedded defaults: SQLite in the project folder, e-mail kept in
the outbox (read it in the admin console), Celery tasks run in-process (no Redis server needed) and an
in-process cache. Set ``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_URL`` to run on real services.
"""

import ipaddress
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env("SECRET_KEY", "insecure-development-key-change-me-" + "x" * 20)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Tests and drills only: a file with an offset in seconds that moves the sweeps' clock (directory.clock).
TEST_CLOCK_FILE = env("TEST_CLOCK_FILE", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.idp.oidc",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_otp_webauthn",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "directory",
    "policies",
    "invitations",
    "entitlements",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "directory.audit.CorrelationIdMiddleware",
    "directory.api.middleware.GraphRequestMiddleware",  # /v1.0, /beta: key segments, request-id headers
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "directory.signin.JourneyLanguageMiddleware",  # an invitation's language for its journey's pages
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
def _conn_max_age(value: str, argv: list[str]) -> int:
    """Seconds a connection outlives its request: 0 (close after each request) unless DB_CONN_MAX_AGE
    says otherwise, and always 0 under ``runserver``. The development server runs each request in a new
    thread, and a thread's persistent connection stays open after the thread is gone: with any value
    above 0 it exhausts PostgreSQL's connection slots within minutes. Persistent connections pay off
    only under gunicorn's sync workers, where they are bounded by the worker count (README)."""
    if len(argv) > 1 and argv[1] == "runserver":
        return 0
    return int(value or 0)


DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=_conn_max_age(env("DB_CONN_MAX_AGE", "0"), sys.argv),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite keeps one connection per thread; persistent connections buy nothing there.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
elif env_bool("DB_PREPARED_STATEMENTS", True):
    # psycopg 3 binds parameters on the server and prepares a statement once a connection has run it
    # DB_PREPARE_THRESHOLD times: PostgreSQL then skips parsing and planning it, which was most of its time
    # on the API's reads (planning alone: 0.2-0.3 ms a statement against 0.02-0.07 to execute). Django turns
    # both off by default for transaction-mode poolers (PgBouncer before 1.21 loses prepared statements):
    # set DB_PREPARED_STATEMENTS=0 behind one (README). Prepared statements live with their connection, so
    # they pay off with DB_CONN_MAX_AGE above 0.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=int(env("DB_PREPARE_THRESHOLD", "5")))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (allauth rate limits need a real one) ----------------------------------------------
REDIS_URL = env("REDIS_URL")

#: How long the sign-in log keeps a row (Entra: 30 days); the hourly sweep deletes older ones.
SIGN_IN_LOG_RETENTION_DAYS = int(env("SIGN_IN_LOG_RETENTION_DAYS", "30"))


def _next_redis_db(url: str) -> str:
    """The cache lives in the Redis database after the broker's: clearing the cache (FLUSHDB) must
    never drop queued tasks."""
    parsed = urlparse(url)
    db = int(parsed.path.strip("/") or 0)
    return parsed._replace(path=f"/{(db + 1) % 16}").geturl()


CACHE_URL = env("CACHE_URL") or (_next_redis_db(REDIS_URL) if REDIS_URL else "")
if CACHE_URL:
    CACHES = {
        "default": {
            # Django's Redis cache, failing closed: Redis unreachable is a 503 for the request that
            # needed a rate limit, never a 500 and never "unlimited" (directory/unavailable.py).
            "BACKEND": "directory.unavailable.FailClosedRedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "portal"),
            # A Redis that hangs must not hang the request: give up after 2 s.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication ---------------------------------------------------------------------------
AUTH_USER_MODEL = "directory.Account"
# allauth's backend only: it is a ModelBackend (permissions for the admin) and runs the password hasher
# exactly once per attempt, for known, unknown and password-less accounts alike. Django's ModelBackend
# in front of it made a wrong password cost two hashes and a right one one (a timing oracle).
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "directory.hashers.ClientSecretHasher",  # generated client secrets only (it refuses short ones)
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "directory.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = None
# Login by e-mailed code: our choice is a 6-character code, valid 10 minutes, 5 tries; requesting a
# new code replaces the one kept in the login's state, so the old one stops working.
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_TIMEOUT = 600
ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 5
ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"length": 6}
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # no mail to addresses that have no account (nor a sign-up link)
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, spelled out so a reader sees that they are on.
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "request_login_code": "20/m/ip,3/m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_FORMS = {
    # The password page fills in the invited address on an invitation's journey.
    "login": "directory.signin.LoginForm",
    # The platform-wide code page asks the same rule as the tenants' sign-in pages (policies).
    "request_login_code": "directory.signin.RequestLoginCodeForm",
    # Accounts without a usable password (code and federated sign-in) get no password by reset.
    "reset_password": "directory.passwords.ResetPasswordForm",
    "user_token": "directory.passwords.UserTokenForm",
}
SOCIALACCOUNT_ADAPTER = "directory.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # never link a social login on an e-mail claim alone
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False

OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "B2B Portal")
# Passkeys (directory/passkeys.py): the relying party is SITE_URL's host (a name, not an IP address: browsers
# refuse those) and origin, unless set here. Only the package's helper is used, never its views.
OTP_WEBAUTHN_RP_NAME = env("OTP_WEBAUTHN_RP_NAME", "B2B Portal")
OTP_WEBAUTHN_RP_ID = env("OTP_WEBAUTHN_RP_ID", "")
OTP_WEBAUTHN_RP_ID_CALLABLE = "directory.passkeys.relying_party_id"
OTP_WEBAUTHN_ALLOWED_ORIGINS_OVERRIDE = env_list("OTP_WEBAUTHN_ALLOWED_ORIGINS")
# The package's start-up checks read this list; the helper asks relying_party() at run time (tests change
# SITE_URL). A plain-http SITE_URL other than localhost gets no passkeys: browsers refuse WebAuthn there.
OTP_WEBAUTHN_ALLOWED_ORIGINS = OTP_WEBAUTHN_ALLOWED_ORIGINS_OVERRIDE or (
    [SITE_URL] if SITE_URL.startswith(("https://", "http://localhost")) else [])
SILENCED_SYSTEM_CHECKS = [*([] if OTP_WEBAUTHN_ALLOWED_ORIGINS else ["otp_webauthn.E030"])]
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False  # a second factor here, never a way in by itself

# --- Sessions and cookies ---------------------------------------------------------------------
# Messages live in the session, not in a cookie: some show a secret once (a new API client secret).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
# Browsers keep cookies per host, not per port: two deployments on one host (tests, demos of federation
# between deployments) need their own cookie names.
SESSION_COOKIE_NAME = env("SESSION_COOKIE_NAME", "sessionid")
CSRF_COOKIE_NAME = env("CSRF_COOKIE_NAME", "csrftoken")
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "directory.views.csrf_failure"  # the project's page, not Django's debug-style one
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Content-Security-Policy (django-csp) on every response ------------------------------------
# Scripts only from our own origin: no inline script anywhere (the admin's and ours are static files;
# Swagger UI is served split, its start-up script a separate request). Styles allow 'unsafe-inline':
# e-mail previews in the outbox (an <iframe srcdoc>, which inherits this policy) are inline-styled
# HTML by nature, and tenant branding sets its colours in a <style> block. data: images are Swagger
# UI's icons.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
LOGO_MAX_BYTES = 512 * 1024

# --- E-mail: every message is an outbox row first ---------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "B2B Portal <no-reply@portal.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_URL = env("EMAIL_URL")


def _email_settings(url: str) -> dict:
    """Translate ``smtp://user:pass@host:port?tls=1`` (or ``smtps://``) into Django's settings."""
    if not url:
        # Embedded default: messages are kept in the outbox table and shown in the admin console.
        return {"EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend"}
    parsed = urlparse(url)
    if parsed.scheme in {"console", "locmem", "dummy"}:
        return {"EMAIL_BACKEND": f"django.core.mail.backends.{parsed.scheme}.EmailBackend"}
    if parsed.scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(f"EMAIL_URL scheme {parsed.scheme!r} is not smtp, smtps or console")
    query = parse_qs(parsed.query)
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parsed.hostname or "localhost",
        "EMAIL_PORT": parsed.port or (465 if parsed.scheme == "smtps" else 25),
        "EMAIL_HOST_USER": unquote(parsed.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parsed.password or ""),
        "EMAIL_USE_SSL": parsed.scheme == "smtps",
        "EMAIL_USE_TLS": query.get("tls", ["0"])[0] in {"1", "true"},
        "EMAIL_TIMEOUT": int(query.get("timeout", ["10"])[0]),
    }


globals().update(_email_settings(EMAIL_URL))
# Domain verification asks DNS for the domain's TXT record: "host:port" (comma-separated for several);
# empty: the system's resolver.
DNS_RESOLVER = env("DNS_RESOLVER", "")
DNS_RESOLVER_TIMEOUT = float(env("DNS_RESOLVER_TIMEOUT", "5"))
OUTBOX_MAX_ATTEMPTS = int(env("OUTBOX_MAX_ATTEMPTS", "12"))
OUTBOX_RETRY_BASE_SECONDS = int(env("OUTBOX_RETRY_BASE_SECONDS", "30"))
# A worker keeps its SMTP connection between messages (one connection for a burst instead of one per
# message) and closes it after this many seconds unused; 0: a connection per task.
OUTBOX_SMTP_KEEP_SECONDS = float(env("OUTBOX_SMTP_KEEP_SECONDS", "30"))
# Every message written wakes one delivery task (directory.outbox_drain) unless one is at work already; it
# looks for new messages every OUTBOX_DRAIN_POLL_SECONDS and ends after OUTBOX_DRAIN_LINGER_SECONDS without any
# (0: ends as soon as nothing is due). One task per burst instead of one per message.
OUTBOX_DRAIN_LINGER_SECONDS = float(env("OUTBOX_DRAIN_LINGER_SECONDS", "1"))
OUTBOX_DRAIN_POLL_SECONDS = float(env("OUTBOX_DRAIN_POLL_SECONDS", "0.05"))

# --- Celery -----------------------------------------------------------------------------------
# Without REDIS_URL, tasks run in-process at commit time (no broker, no worker needed).
CELERY_BROKER_URL = REDIS_URL or "memory://"
# kombu's Redis transport, with a lost broker under an unacknowledged task kept from stopping the worker for
# good (config/broker.py).
CELERY_BROKER_TRANSPORT = "config.broker:Transport" if REDIS_URL.startswith("redis://") else None  # not rediss://
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
# Without a worker, a bulk-invite job is moved on by its page's progress polls (a slice each), so the
# admin watches it progress instead of waiting on the upload; with a broker, workers run it.
BULK_INVITE_DRIVEN_BY_PAGE = env_bool("BULK_INVITE_DRIVEN_BY_PAGE", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # tasks are idempotent (outbox rows, conditional updates)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A task taken by a worker that died (kill -9, lost host) is given to another worker after this long;
# the sweeps find its work sooner. It must stay above CELERY_TASK_TIME_LIMIT.
CELERY_VISIBILITY_TIMEOUT = int(env("CELERY_VISIBILITY_TIMEOUT", "3600"))
CELERY_TASK_TIME_LIMIT = 900  # well below the visibility timeout, so a task never runs twice for time
CELERY_TASK_SOFT_TIME_LIMIT = 840
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 30
CELERY_TASK_DEFAULT_QUEUE = env("CELERY_QUEUE", "portal")
# Celery's Django fixup would close the database connection around every task: config/celery.py applies
# Django's CONN_MAX_AGE rule instead (DB_CONN_MAX_AGE, as for requests).
CELERY_DB_REUSE_MAX = 2**62
CELERY_TIMEZONE = "UTC"

# --- OAuth 2.0 / OpenID Connect provider (allauth.idp.oidc): API tokens -----------------------
def _oidc_private_key() -> str:
    """The signing key: OIDC_PRIVATE_KEY (PEM) in production; a generated one kept in var/ otherwise."""
    pem = env("OIDC_PRIVATE_KEY")
    if pem:
        return pem
    path = BASE_DIR / "var" / "oidc-dev-key.pem"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return path.read_text()


IDP_OIDC_PRIVATE_KEY = _oidc_private_key()
IDP_OIDC_ACCESS_TOKEN_EXPIRES_IN = int(env("API_TOKEN_LIFETIME_SECONDS", "3600"))
IDP_OIDC_ADAPTER = "directory.api.oidc.OIDCAdapter"

# --- Federation: identity providers' client secrets (policies/federation/secrets.py) ----------------
# Fernet key(s), comma-separated, the first encrypts. The embedded value is for development and tests
# only: production settings refuse to start without FEDERATION_SECRET_KEY.
FEDERATION_SECRET_KEY = env("FEDERATION_SECRET_KEY", "ZGV2ZWxvcG1lbnQtb25seS1mZWRlcmF0aW9uLWtleSE=")
# How long a fetched OpenID Connect discovery document is trusted (seconds), and the HTTP timeout.
FEDERATION_METADATA_CACHE_SECONDS = int(env("FEDERATION_METADATA_CACHE_SECONDS", "3600"))
FEDERATION_HTTP_TIMEOUT = float(env("FEDERATION_HTTP_TIMEOUT", "10"))
# Google's and Microsoft's issuers (the tests point them at a local OpenID Connect issuer); "{tenant}"
# is the Microsoft tenant configured on the identity provider.
FEDERATION_WELL_KNOWN_ISSUERS = {
    "google": env("FEDERATION_GOOGLE_ISSUER", "https://accounts.google.com"),
    "microsoft": env("FEDERATION_MICROSOFT_ISSUER", "https://login.microsoftonline.com/{tenant}/v2.0"),
}

# --- Client addresses ---------------------------------------------------------------------------
# The proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed. Empty: the client is the peer
# that connected (REMOTE_ADDR), whatever headers it sends. directory.net.client_ip applies it everywhere.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
try:
    _trusted_networks = [ipaddress.ip_network(entry, strict=False) for entry in TRUSTED_PROXIES]
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc}") from None

# --- Conditional access (policies/geo.py, policies/access.py) ---------------------------------------
# A GeoIP2Fast data file for IP → country (empty: the one shipped in the geoip2fast package); no network.
CONDITIONAL_ACCESS_COUNTRY_DATABASE = env("CONDITIONAL_ACCESS_COUNTRY_DATABASE")
# How long a process trusts its compiled policies before asking the shared cache whether they changed.
CONDITIONAL_ACCESS_CACHE_CHECK_SECONDS = float(env("CONDITIONAL_ACCESS_CACHE_CHECK_SECONDS", "1"))

# --- REST framework: the Graph-shaped API (conventions in directory/api/) ----------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["directory.api.auth.GraphTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["directory.api.permissions.GraphPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["directory.api.parsers.GraphJSONParser"],
    "EXCEPTION_HANDLER": "directory.api.errors.graph_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": ["directory.api.throttling.GraphThrottle"],
    "DEFAULT_THROTTLE_RATES": {"graph": env("API_RATE_LIMIT", "3500/10s")},
}
API_MAX_BODY_BYTES = 1_048_576
SPECTACULAR_SETTINGS = {
    "TITLE": "B2B Portal — Graph-compatible API",
    "DESCRIPTION": "A subset of Microsoft Graph v1.0 (and beta where v1.0 has none) for B2B collaboration. "
                   "Get a token with the client credentials grant at /identity/o/api/token (scope .default) "
                   "and send it as 'Authorization: Bearer …'. See docs/api.md.",
    "VERSION": "v1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every GraphView's operation is derived from its resource, handler and permissions (directory/api/schema.py).
    "DEFAULT_GENERATOR_CLASS": "directory.api.schema.GraphSchemaGenerator",
    "PREPROCESSING_HOOKS": ["directory.api.schema.only_graph_endpoints"],
    "POSTPROCESSING_HOOKS": [],  # enums stay inline, as Graph's metadata has them per property
    "SCHEMA_PATH_PREFIX": "",
    # ENABLE_DJANGO_DEPLOY_CHECK stays at its default (on): `check --deploy` fails on any schema warning.
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

