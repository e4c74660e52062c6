"""Playwright on Debian's chromium, against pytest-django's ``live_server``.

pytest-playwright's own fixtures (``browser``, ``new_context``, ``page``, ``--headed``, ``--slowmo``,
``--tracing``, ``--screenshot``, …) are kept; only the launch is changed to use ``/usr/bin/chromium``
(or ``$CHROMIUM``) so that no browser is ever downloaded. Browser tests are skipped when it is missing.

``browser_page`` is a fresh page (own context, so no cookies carry over) whose relative URLs resolve
against the live server; when the test fails, a screenshot and the page's HTML are saved under
``test-results/`` (pytest-playwright's ``--output``). ``screenshot(page, "label")`` saves one on demand.
``sign_in_to_admin(page, email, password)`` signs in to the admin console (through allauth's page).
"""

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DEFAULT_TIMEOUT_MS = 10_000
_REPORTS = pytest.StashKey[dict]()


def chromium_executable() -> str | None:
    path = shutil.which(CHROMIUM) if not os.path.isabs(CHROMIUM) else CHROMIUM
    return path if path and os.access(path, os.X_OK) else None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_name):
    """pytest-playwright's launch options (``--headed``, ``--slowmo``) plus Debian's chromium."""
    if browser_name != "chromium":
        pytest.skip(f"only chromium is installed (from Debian), not {browser_name}")
    executable = chromium_executable()
    if executable is None:
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) "
                    "to run the browser tests")
    return {
        "headless": True,
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS],
        "chromium_sandbox": False,
    }


def pytest_configure(config):
    # pytest-playwright (0.10) provides ``base_url`` as a session fixture defined on an instance, which
    # pytest 9 deprecates: the warning is about the plugin, not about these tests.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:Session-scoped fixtures defined as instance methods are deprecated:pytest.PytestRemovedIn10Warning",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _artifacts_dir(config, node) -> Path:
    output = Path(config.getoption("--output", default="test-results"))
    if not output.is_absolute():
        output = Path(config.rootpath) / output
    return output / re.sub(r"[^A-Za-z0-9_.-]+", "-", node.nodeid).strip("-")[:200]


def save_screenshot(page, directory: Path, label: str) -> Path:
    """Save a full-page screenshot (and the page's HTML next to it) as ``directory/label.png``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{label}.png"
    page.screenshot(path=str(path), full_page=True, timeout=5_000)
    (directory / f"{label}.html").write_text(page.content(), encoding="utf-8")
    return path


@pytest.fixture
def screenshot(request) -> Callable:
    """``screenshot(page, "label")`` saves ``test-results/<test>/label.png`` and returns its path."""

    def take(page, label: str = "screenshot") -> Path:
        return save_screenshot(page, _artifacts_dir(request.config, request.node), label)

    return take


@pytest.fixture
def browser_page(request, new_context, browser_context_args, live_server):
    """A fresh page in its own context; ``page.goto("/admin/")`` opens the live server."""
    # With pytest-playwright's --base-url, new_context() passes that one already (a second is an error).
    context = new_context() if browser_context_args.get("base_url") else new_context(base_url=live_server.url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    failed = [report for report in request.node.stash.get(_REPORTS, {}).values() if report.failed]
    if failed and not page.is_closed():
        try:
            note = f"saved {save_screenshot(page, _artifacts_dir(request.config, request.node), 'failure')}"
        except Exception as exc:  # the page may be unusable after the failure
            note = f"could not save a screenshot: {exc}"
        # The failure's report is printed at the end of the run: the path shows up with it.
        failed[0].sections.append(("browser screenshot", f"{note} (URL {page.url})"))


def sign_in_to_admin(page, email: str, password: str) -> None:
    """Open the admin console, which sends a stranger to allauth's sign-in page (next=/admin/); sign in
    there and land on the index."""
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F$"))
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
