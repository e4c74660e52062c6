"""Graph-style errors: ``{"error": {"code", "message", "innerError": {"date", "request-id", …}}}``."""

import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response


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


def error_body(code: str, message: str, request=None) -> dict:
    request_id = getattr(request, "correlation_id", None) or uuid.uuid4()
    client_request_id = request.headers.get("client-request-id", "") if request is not None else ""
    inner = {"date": timezone.now().strftime("%Y-%m-%dT%H:%M:%S"), "request-id": str(request_id)}
    if client_request_id:
        inner["client-request-id"] = client_request_id[:100]
    return {"error": {"code": code, "message": message, "innerError": inner}}


def _validation_message(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_validation_message(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_validation_message(v) for v in detail)
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
        status_code, code, message = 400, "Request_BadRequest", _validation_message(exc.detail)
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        status_code, code, message = 400, "Request_BadRequest", _validation_message(detail)
    elif isinstance(exc, exceptions.APIException):
        status_code, code, message = exc.status_code, "Request_BadRequest", str(exc.detail)
    else:
        return None  # a bug: let Django log it and answer 500
    response = Response(error_body(code, message, request), status=status_code, headers=headers)
    return response


__all__ = ["GraphError", "bad_request", "denied", "graph_exception_handler", "not_found", "status",
           "unsupported_query"]
