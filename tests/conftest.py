import os

import pytest

# Playwright's sync API keeps an event loop running in the main thread; Django's ORM refuses to run
# there unless told that this is deliberate (the tests drive the browser and the ORM in turn).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytest_plugins = ["tests.support.smtp", "tests.support.worker", "tests.support.browser", "tests.support.dns_server"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters (allauth) live in the cache: every test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
