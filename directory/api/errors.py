"""Graph-style errors: ``{"error": {"code", "message", "innerError": {"date", "request-id", …}}}``."""

import logging
import re
import uuid

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class GraphError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = headers or {}


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unsupported_query(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def not_found(message: str = "Resource does not exist or one of its queried reference-property objects are not "
              "present.") -> GraphError:
    return GraphError(404, "Request_ResourceNotFound", message)


def denied(message: str = "Insufficient privileges to complete the operation.") -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", message)


#: What we echo as client-request-id: what clients send there (a GUID, usually), and nothing that could
#: smuggle anything into a log line or a header.
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:{}-]{1,100}$")


def client_request_id(request) -> str | None:
    """The caller's client-request-id header when it is a sane value, else None."""
    value = request.headers.get("client-request-id", "").strip() if request is not None else ""
    return value if _CLIENT_REQUEST_ID.match(value) else None


def error_body(code: str, message: str, request=None) -> dict:
    """Graph's error shape; ``innerError`` carries the same request-id as the response header."""
    request_id = getattr(request, "correlation_id", None) or uuid.uuid4()
    inner = {"date": timezone.now().strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(request_id)}
    echoed = client_request_id(request)
    if echoed:
        inner["client-request-id"] = echoed
    return {"error": {"code": code, "message": message, "innerError": inner}}


def graph_name(field: str) -> str:
    """A model field's name as Graph spells its property: ``user_principal_name`` → ``userPrincipalName``."""
    head, *rest = str(field).split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def validation_message(detail, names: dict[str, str] | None = None) -> str:
    """One line for a client from Django's or DRF's validation errors: each message prefixed with the
    property it is about, spelled as Graph spells it (``names`` overrides that spelling), and errors about
    no one property (Django's ``__all__``) without a prefix."""
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            message = validation_message(value, names)
            if key in (NON_FIELD_ERRORS, "non_field_errors"):
                parts.append(message)
            else:
                parts.append(f"{(names or {}).get(key) or graph_name(key)}: {message}")
        return "; ".join(parts)
    if isinstance(detail, (list, tuple)):
        return " ".join(validation_message(v, names) for v in detail)
    return str(detail)



def graph_exception_handler(exc, context):
    request = context.get("request")
    headers = {}
    if isinstance(exc, GraphError):
        status_code, code, message, headers = exc.status_code, exc.code, exc.message, exc.headers
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        status_code, code = 401, "InvalidAuthenticationToken"
        message = "Access token is empty." if isinstance(exc, exceptions.NotAuthenticated) else str(exc.detail)
        headers = {"WWW-Authenticate": 'Bearer realm="graph"'}
    elif isinstance(exc, (exceptions.PermissionDenied, DjangoPermissionDenied)):
        status_code, code = 403, "Authorization_RequestDenied"
        message = str(getattr(exc, "detail", "") or exc) or "Insufficient privileges to complete the operation."
    elif isinstance(exc, (exceptions.NotFound, Http404)):
        status_code, code = 404, "Request_ResourceNotFound"
        message = "Resource does not exist or one of its queried reference-property objects are not present."
    elif isinstance(exc, ObjectDoesNotExist):
        # A service re-reads its object under a row lock (``select_for_update().get()``); when a concurrent
        # delete committed after the view found it, the object is gone: Graph's 404, as if it had been
        # gone before the request. One place for every view, instead of a try/except around each call.
        logger.info("%s escaped a view: answered 404", type(exc).__name__, exc_info=exc)
        status_code, code = 404, "Request_ResourceNotFound"
        message = "Resource does not exist or one of its queried reference-property objects are not present."
    elif isinstance(exc, exceptions.Throttled):
        status_code, code = 429, "TooManyRequests"
        message = "Too many requests. Retry after the number of seconds in Retry-After."
        headers = {"Retry-After": str(int(exc.wait or 1) + 0)}
    elif isinstance(exc, exceptions.MethodNotAllowed):
        status_code, code, message = 405, "Request_BadRequest", f"The method {exc.detail} is not allowed here."
        message = str(exc.detail)
    elif isinstance(exc, exceptions.UnsupportedMediaType):
        status_code, code, message = 415, "Request_BadRequest", "Send the body as application/json."
    elif isinstance(exc, (exceptions.ParseError,)):
        status_code, code, message = 400, "Request_BadRequest", f"Invalid JSON body: {exc.detail}"
    elif isinstance(exc, exceptions.ValidationError):
        status_code, code, message = 400, "Request_BadRequest", validation_message(exc.detail)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        status_code, code, message = 400, "Request_BadRequest", validation_message(detail)
    elif isinstance(exc, exceptions.APIException):
        status_code, code, message = exc.status_code, "Request_BadRequest", str(exc.detail)
    else:
        return None  # a bug: let Django log it and answer 500
    response = Response(error_body(code, message, request), status=status_code, headers=headers)
    return response


__all__ = ["GraphError", "bad_request", "client_request_id", "denied", "graph_exception_handler", "graph_name",
           "not_found", "status", "unsupported_query", "validation_message"]
