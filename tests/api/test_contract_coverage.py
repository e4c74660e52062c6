import importlib
import pkgutil

from django.urls import URLPattern, URLResolver, get_resolver

import tests.api
from tests.api.contract import REGISTRY


def _routes(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback


def _endpoints():
    """(route, METHOD, view class) of every API endpoint that is not exempt, with the contracts imported."""
    for module in pkgutil.iter_modules(tests.api.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"tests.api.{module.name}")
    for route, callback in _routes(get_resolver().url_patterns):
        if not route.startswith("v1.0/") and not route.startswith("beta/"):
            continue
        view = getattr(callback, "view_class", None)
        if view is None or getattr(view, "contract_exempt", False):
            continue
        for method in ("get", "post", "patch", "put", "delete"):
            if hasattr(view, method):
                yield route, method.upper(), view


def test_every_endpoint_has_a_contract():
    missing = [f"{method} /{route}" for route, method, _view in _endpoints() if (route, method) not in REGISTRY]
    assert not missing, "endpoints without an EndpointContract: " + ", ".join(missing)


def test_every_write_an_owner_may_make_has_an_owner_contract():
    """A view that lets the owner of its object write it (``owners_may_write``) checks the owner case too."""
    missing = [f"{method} /{route}" for route, method, view in _endpoints()
               if method != "GET" and getattr(view, "owners_may_write", False)
               and not getattr(REGISTRY.get((route, method)), "owner_kind", "")]
    assert not missing, "owner-writable endpoints whose contract sets no owner_kind: " + ", ".join(missing)
