"""Test settings: the base settings, on PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set."""

from .base import *  # noqa: F403
from .base import BASE_DIR

DEBUG = False
SITE_URL = "http://testserver"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
MEDIA_ROOT = BASE_DIR / "var" / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Argon2 as in production, with test-sized costs (thousands of hashes: accounts, API client secrets).
PASSWORD_HASHERS = ["tests.support.hashers.FastArgon2PasswordHasher", *PASSWORD_HASHERS]  # noqa: F405
# Serve static files straight from the apps' folders (no collectstatic before tests).
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tasks run in-process; the integration tests start a real worker and switch this off themselves.
CELERY_TASK_ALWAYS_EAGER = True
BULK_INVITE_DRIVEN_BY_PAGE = False  # tests that want it switch it on (tests/invitations/test_bulk_page_driven.py)
