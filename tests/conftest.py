import os

import pytest

# Playwright's sync API keeps an event loop running in the main thread; Django's ORM refuses to run
# there unless told that this is deliberate (the tests drive the browser and the ORM in turn).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

def pytest_collection_modifyitems(config, items):
    """Failure drills (marked ``drill``) start their own services and take minutes: they run only
    with DRILLS=1. (A skip, not a deselection, so the report says they exist and why they did not run.)"""
    if os.environ.get("DRILLS") == "1":
        return
    skip = pytest.mark.skip(reason="a failure drill: set DRILLS=1 to run it (see docs/drills.md)")
    for item in items:
        if "drill" in item.keywords:
            item.add_marker(skip)


pytest_plugins = ["tests.support.smtp", "tests.support.worker", "tests.support.browser", "tests.support.dns_server",
                  "tests.support.access"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters (allauth) live in the cache: every test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
