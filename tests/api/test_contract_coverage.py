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


def test_every_endpoint_has_a_contract():
    for module in pkgutil.iter_modules(tests.api.__path__):
        if module.name.startswith("test_"):
            importlib.import_module(f"tests.api.{module.name}")
    missing = []
    for route, callback in _routes(get_resolver().url_patterns):
        if not route.startswith("v1.0/") and not route.startswith("beta/"):
            continue
        view = getattr(callback, "view_class", None)
        if view is None or getattr(view, "contract_exempt", False):
            continue
        for method in ("get", "post", "patch", "put", "delete"):
            if hasattr(view, method) and (route, method.upper()) not in REGISTRY:
                missing.append(f"{method.upper()} /{route}")
    assert not missing, "endpoints without an EndpointContract: " + ", ".join(missing)
