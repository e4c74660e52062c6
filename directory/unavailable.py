"""When a backing service is down, requests that need it get a clear 503, never a 500, and never run
without it.

- The cache (Redis) holds the rate limits: allauth's sign-in limits, the one-time code guess counter
  (:mod:`directory.codes`) and the API throttle. :class:`FailClosedRedisCache` turns "Redis cannot be
  reached" into :class:`CacheUnavailable`; nothing catches it to carry on unlimited, so the request
  that needed a limit is refused (fail closed) with 503 and ``Retry-After``. Requests that need no
  cache (creating an invitation in the console or the API once its throttle answered) go on working:
  their e-mail waits in the outbox for the broker (bench/drills/redis_down.py).
- The database: a request that finds PostgreSQL gone (restarting) fails as a whole; its transaction
  is rolled back by PostgreSQL, and the answer is 503 instead of 500 (bench/drills/postgres_restart.py).

:func:`server_error` is the project's ``handler500``: Django calls it for any exception that reached
it, from a view or a middleware, with that exception still being handled; it answers 503 for the
outages above (Graph's JSON error shape under the API's paths, a short page elsewhere) and Django's
plain 500 page otherwise.
"""

import functools
import logging
import sys
import uuid

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.defaults import server_error as django_server_error

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
API_PREFIXES = ("/v1.0/", "/beta/", "/identity/o/")


class ServiceUnavailable(Exception):
    """A service the request needs cannot be reached; try again later."""


class CacheUnavailable(ServiceUnavailable):
    """The cache (Redis) cannot be reached: rate limits cannot be counted, so nothing is let through."""


def _fail_closed(method):
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        import redis

        try:
            return method(self, *args, **kwargs)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise CacheUnavailable(f"the cache cannot be reached: {exc}") from exc

    return guarded


class _FailClosedClient(RedisCacheClient):
    pass


for _name in ("add", "get", "set", "touch", "delete", "get_many", "has_key", "incr", "set_many", "delete_many",
              "clear"):
    setattr(_FailClosedClient, _name, _fail_closed(getattr(RedisCacheClient, _name)))


class FailClosedRedisCache(RedisCache):
    """Django's Redis cache, raising :class:`CacheUnavailable` when Redis cannot be reached."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _FailClosedClient


def is_outage(exc: BaseException | None) -> bool:
    """Whether ``exc`` means a backing service is unreachable (rather than a bug)."""
    return isinstance(exc, ServiceUnavailable | OperationalError | InterfaceError)


def unavailable_response(request, exc: BaseException) -> HttpResponse:
    what = "cache" if isinstance(exc, CacheUnavailable) else "database"
    message = (f"The service is temporarily unavailable (its {what} cannot be reached) and this request was not "
               f"completed. Try again in {RETRY_AFTER_SECONDS} seconds.")
    if request.path.startswith(API_PREFIXES):
        # Graph's error shape (as directory.api.errors writes it; not imported: the API imports this module).
        inner = {"date": timezone.now().strftime("%Y-%m-%dT%H:%M:%S"),
                 "request-id": str(getattr(request, "correlation_id", None) or uuid.uuid4())}
        response = JsonResponse({"error": {"code": "serviceUnavailable", "message": message, "innerError": inner}},
                                status=503)
    else:
        response = HttpResponse(
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Service unavailable</title></head>"
            f"<body><h1>Service unavailable</h1><p>{message}</p></body></html>", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def server_error(request, *args, **kwargs):
    """``handler500``: 503 for an outage of the cache or the database, Django's 500 page otherwise."""
    exc = sys.exc_info()[1]
    if is_outage(exc):
        logger.warning("503 for %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
        return unavailable_response(request, exc)
    return django_server_error(request, *args, **kwargs)
