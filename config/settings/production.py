"""Production settings: the base settings hardened. ``manage.py check --deploy`` passes with zero
warnings when SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, REDIS_URL and EMAIL_URL are set."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = False
SECRET_KEY = env("SECRET_KEY")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be set to at least 50 random characters in production")
if not ALLOWED_HOSTS or ALLOWED_HOSTS == ["localhost", "127.0.0.1", "[::1]", "testserver"]:  # noqa: F405
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the hosts this deployment serves")

if not env("OIDC_PRIVATE_KEY"):
    raise ImproperlyConfigured("OIDC_PRIVATE_KEY must hold the PEM of the RSA key that signs ID tokens "
                               "(the same on every web process)")

if not env("FEDERATION_SECRET_KEY"):
    raise ImproperlyConfigured("FEDERATION_SECRET_KEY must hold a Fernet key (Fernet.generate_key()) that encrypts "
                               "identity providers' client secrets")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
