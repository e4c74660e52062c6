"""POST /v1.0/$batch: Graph's JSON batching.

``{"requests": [{"id", "method", "url", "headers", "body", "dependsOn"}]}``, at most 20, answered with
``{"responses": [{"id", "status", "headers", "body"}]}`` in the order the requests were sent.

Each step is dispatched through Django's URL resolver to the very view that would answer it alone, as
the same caller: the step carries the outer request's authenticated principal (DRF's forced
authentication with the outer request's user and Actor), so a step can do exactly what the caller could
do in its own request — permission checks, tenant scoping and throttling run per step, and a step's
``Authorization`` header is ignored. Each step gets its own correlation id.

- URLs are relative to /v1.0 ("/users", "users?$top=1", also "/v1.0/users"). An absolute URL is taken
  only when it names this very host and /v1.0/ (the msgraph SDKs send the absolute URL they would have
  called); another host, another scheme, another API version or a URL that does not parse is a 400 for
  that step. A step may not be a ``$batch`` itself (400).
- ``dependsOn`` (also read as ``depends_on``, the Python SDK's spelling) orders the steps; a step whose
  dependency did not succeed (2xx) answers 424 without running. Steps without dependencies run in the
  order sent. Empty ids, unknown ids, duplicate ids and cycles reject the whole batch (400).
- Only these step headers are passed on: Content-Type, ConsistencyLevel, Prefer, Accept,
  client-request-id, If-Match, If-None-Match.
"""

import contextvars
import io
import json
import logging
import uuid
from urllib.parse import unquote, urlsplit

from django.core.handlers.wsgi import WSGIRequest
from django.urls import Resolver404, resolve
from rest_framework.response import Response

from ..audit import set_correlation_id
from .base import GraphView
from .bodies import Body, Field
from .errors import bad_request, error_body

logger = logging.getLogger(__name__)

MAX_REQUESTS = 20
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PASSED_HEADERS = ("content-type", "consistencylevel", "prefer", "accept", "client-request-id", "if-match",
                  "if-none-match")
RETURNED_HEADERS = ("content-type", "location", "retry-after", "www-authenticate", "etag", "odata-version",
                    "request-id", "client-request-id")

_DEPENDS = Field("list", nullable=True, max_length=MAX_REQUESTS, items=Field("string", max_length=64))
STEP = Body("microsoft.graph.batchRequestStep", {
    "id": Field("string", required=True, max_length=64, schema={"minLength": 1}),
    "method": Field("string", required=True, max_length=10, schema={"enum": list(METHODS)}),
    "url": Field("string", required=True, max_length=2048, schema={"example": "/users?$top=5"}),
    "headers": Field("object", nullable=True),
    "body": Field("any", nullable=True, schema={"description": "A JSON value (the step's body)."}),
    "dependsOn": _DEPENDS,
    "depends_on": Field("list", nullable=True, max_length=MAX_REQUESTS, items=Field("string", max_length=64),
                        description="The msgraph Python SDK's spelling of dependsOn."),
})
BATCH = Body("microsoft.graph.batchRequestContent", {
    "requests": Field("list", required=True, max_length=MAX_REQUESTS, items=STEP, schema={"minItems": 1}),
})


class BatchView(GraphView):
    """Up to 20 Graph requests in one: each runs as if sent alone, by the same caller."""

    bodies = {"POST": BATCH}
    responses = {"post": "item"}
    query_options = {"POST": set()}  # the answer is the steps' answers: no $select of its own (400, not ignored)

    def post(self, request):
        steps = self.body()["requests"]
        if not steps:
            raise bad_request("The batch holds no request.")
        order = _execution_order(steps)
        answers: dict[str, dict] = {}
        for step in order:
            failed = [d for d in _depends(step) if not 200 <= answers[d]["status"] < 300]
            if failed:
                answers[step["id"]] = _error(step["id"], 424, "FailedDependency",
                                             f"The request depends on request '{failed[0]}', which failed.")
                continue
            answers[step["id"]] = self._run(step)
        return Response({"responses": [answers[step["id"]] for step in steps]})

    def _run(self, step: dict) -> dict:
        step_id = step["id"]
        method = step["method"].upper()
        if method not in METHODS:
            return _error(step_id, 400, "Request_BadRequest", f"Method '{step['method'][:10]}' is not supported.")
        target = self._target(step["url"])
        if isinstance(target, str):
            return _error(step_id, 400, "Request_BadRequest", target)
        path, query = target
        try:
            match = resolve(path)
        except Resolver404:
            return _error(step_id, 400, "Request_BadRequest", f"Resource not found for the segment '{path[:60]}'.")
        if getattr(match.func, "view_class", None) is BatchView:
            return _error(step_id, 400, "Request_BadRequest", "A batch may not hold another $batch.")
        sub = self._sub_request(method, path, query, step)
        try:
            # In a copy of the context, so that the step's correlation id ends with it.
            response = contextvars.copy_context().run(_dispatch, match, sub)
        except Exception:  # a bug in one step: that step's 500, the others still answer
            logger.exception("batch step %s (%s %s) failed", step_id, method, path)
            return _error(step_id, 500, "InternalServerError", "The request failed.")
        return _answer(step_id, response)

    def _target(self, url: str) -> tuple[str, str] | str:
        """(path under /v1.0/, query) for a step's URL, or why it is refused."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1/v1.0/users"
            return "The request URL is not a valid URL."
        if parts.scheme or parts.netloc:
            if parts.scheme not in ("http", "https") or parts.netloc.lower() != self.request.get_host().lower():
                return "Only relative URLs (like /users) or URLs of this service may be batched."
            if not parts.path.startswith("/v1.0/"):
                return "A /v1.0/$batch holds /v1.0 requests only."
        path = unquote(parts.path).lstrip("/")
        if path.startswith("v1.0/"):
            path = path[len("v1.0/"):]
        if not path or "\x00" in path:
            return "The request URL names no resource."
        return "/v1.0/" + path, parts.query

    def _sub_request(self, method: str, path: str, query: str, step: dict) -> WSGIRequest:
        outer = self.request._request
        headers = step.get("headers") or {}
        passed = {str(k).lower(): str(v) for k, v in headers.items() if str(k).lower() in PASSED_HEADERS}
        body = step.get("body")
        if body is None:
            raw = b""
        elif isinstance(body, str):
            raw = body.encode("utf-8")
        else:
            raw = json.dumps(body).encode("utf-8")
            passed.setdefault("content-type", "application/json")
        environ = {k: v for k, v in outer.META.items()
                   if not k.startswith("HTTP_") or k in ("HTTP_HOST", "HTTP_X_FORWARDED_FOR", "HTTP_USER_AGENT")}
        environ.update({
            # WSGI strings are bytes read as latin-1 (PEP 3333)
            "REQUEST_METHOD": method, "PATH_INFO": _wsgi(path), "SCRIPT_NAME": "", "QUERY_STRING": _wsgi(query),
            "CONTENT_LENGTH": str(len(raw)), "CONTENT_TYPE": passed.pop("content-type", ""),
            "wsgi.input": io.BytesIO(raw),
        })
        for name, value in passed.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = _wsgi(value)
        sub = WSGIRequest(environ)
        # The outer request's principal, as authenticated: a step can do what the caller can, nothing more.
        sub._force_auth_user = self.request.user
        sub._force_auth_token = self.request.auth
        sub.correlation_id = uuid.uuid4()
        return sub


def _wsgi(text: str) -> str:
    return text.encode("utf-8", errors="replace").decode("latin-1")


def _dispatch(match, sub: WSGIRequest):
    set_correlation_id(sub.correlation_id)
    response = match.func(sub, *match.args, **match.kwargs)
    if hasattr(response, "render"):
        response.render()
    return response


def _depends(step: dict) -> list[str]:
    return list(dict.fromkeys((step.get("dependsOn") or []) + (step.get("depends_on") or [])))


def _execution_order(steps: list[dict]) -> list[dict]:
    """The steps, each after the ones it depends on, otherwise in the order sent."""
    by_id: dict[str, dict] = {}
    for step in steps:
        if not step["id"]:
            raise bad_request("Each request of the batch needs an id: a non-empty string.")
        if step["id"] in by_id:
            raise bad_request(f"The request id '{step['id']}' is used more than once in the batch.")
        by_id[step["id"]] = step
    for step in steps:
        for dependency in _depends(step):
            if dependency not in by_id:
                raise bad_request(f"Request '{step['id']}' depends on '{dependency}', which is not in the batch.")
    order, done, pending = [], set(), list(steps)
    while pending:
        ready = [s for s in pending if all(d in done for d in _depends(s))]
        if not ready:
            raise bad_request("The batch's dependsOn form a cycle.")
        for step in ready:
            order.append(step)
            done.add(step["id"])
        pending = [s for s in pending if s["id"] not in done]
    return order


def _error(step_id: str, status: int, code: str, message: str) -> dict:
    return {"id": step_id, "status": status, "headers": {"Content-Type": "application/json"},
            "body": error_body(code, message)}


def _answer(step_id: str, response) -> dict:
    headers = {name: value for name, value in response.items() if name.lower() in RETURNED_HEADERS}
    content = response.content if not getattr(response, "streaming", False) else b"".join(response)
    body = None
    if content:
        text = content.decode("utf-8", errors="replace")
        try:
            body = json.loads(text) if "json" in response.get("Content-Type", "") else text
        except ValueError:
            body = text
    return {"id": step_id, "status": response.status_code, "headers": headers, "body": body}
