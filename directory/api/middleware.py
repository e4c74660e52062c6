"""What every /v1.0 and /beta exchange shares, before the URL is resolved and after the answer is made.

- OData key segments: ``users('ann@contoso.com')`` is the same object as ``users/ann@contoso.com`` (Graph
  accepts both; so does the SDK's ``with_url``). The key form is rewritten to the path form before the
  URL is resolved, so every route (and every route added later) takes both.
- Graph's response headers: ``request-id`` (this request's correlation id — the one its audit rows and
  error body carry) and ``client-request-id`` (the caller's own id, echoed when it is a sane value).
"""

import re

from .errors import client_request_id

API_PREFIXES = ("/v1.0/", "/beta/")
#: A segment ``name('key')``; a quote inside the key is doubled, as OData writes it.
_KEY_SEGMENT = re.compile(r"^(?P<name>[A-Za-z][A-Za-z0-9.]*)\('(?P<key>(?:[^']|'')*)'\)$")


def path_form(path: str) -> str:
    """``/v1.0/users('a''b@x')/memberOf`` → ``/v1.0/users/a'b@x/memberOf``; other paths unchanged."""
    segments = path.split("/")
    changed = False
    for index, segment in enumerate(segments):
        match = _KEY_SEGMENT.match(segment)
        if match and match["key"]:
            segments[index: index + 1] = [match["name"], match["key"].replace("''", "'")]
            changed = True
    return "/".join(segments) if changed else path


class GraphRequestMiddleware:
    """Key segments to path segments, and Graph's request-id / client-request-id response headers, on
    the API's paths only (after ``directory.audit.CorrelationIdMiddleware``, whose id it reports)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path_info.startswith(API_PREFIXES):
            return self.get_response(request)
        if "(" in request.path_info:  # path_info is already percent-decoded
            request.path_info = path_form(request.path_info)
        response = self.get_response(request)
        correlation_id = getattr(request, "correlation_id", None)
        if correlation_id is not None:
            response["request-id"] = str(correlation_id)
        echoed = client_request_id(request)
        if echoed:
            response["client-request-id"] = echoed
        return response
