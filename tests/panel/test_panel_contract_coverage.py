import importlib
import pkgutil

from django.urls import URLPattern, URLResolver, get_resolver

import tests.panel
from directory.panel import PanelView
from tests.panel.contract import PANEL_REGISTRY


def _named_routes(patterns, prefix="", namespace=""):
    """(route, "namespace:name", view class or None) of every URL pattern."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _named_routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}{pattern.name}" if pattern.name else ""
            yield prefix + str(pattern.pattern), name, getattr(pattern.callback, "view_class", None)


def panel_pages():
    """(route, name) of every access-panel page: a URL under t/<slug:slug>/ served by a PanelView."""
    return [(route, name) for route, name, view in _named_routes(get_resolver().url_patterns)
            if route.startswith("t/<slug:slug>/") and isinstance(view, type) and issubclass(view, PanelView)]


def test_the_panel_pages_are_found():
    assert {"directory:panel", "directory:launch"} <= {name for _route, name in panel_pages()}


def test_every_panel_page_has_a_contract():
    for module in pkgutil.iter_modules(tests.panel.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"tests.panel.{module.name}")
    unnamed = [route for route, name in panel_pages() if not name]
    assert not unnamed, "panel pages without a URL name (a contract names its page): " + ", ".join(unnamed)
    missing = [f"/{route} ({name})" for route, name in panel_pages() if name not in PANEL_REGISTRY]
    assert not missing, "panel pages without a PanelPageContract: " + ", ".join(missing)
