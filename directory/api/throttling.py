from rest_framework.throttling import SimpleRateThrottle

from ..net import client_ip
from ..unavailable import RETRY_AFTER_SECONDS, CacheUnavailable
from .errors import GraphError


class GraphThrottle(SimpleRateThrottle):
    """A token bucket per app (or per user) and tenant, like Graph's; rates read as "3500/10s"."""

    scope = "graph"

    def parse_rate(self, rate):
        if rate is None:
            return None, None
        count, period = rate.split("/")
        unit = period[-1]
        amount = int(period[:-1] or 1)
        return int(count), amount * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]

    def allow_request(self, request, view):
        # The buckets live in the cache: without it nobody is counted, so nobody is let through.
        try:
            return super().allow_request(request, view)
        except CacheUnavailable:
            raise GraphError(503, "serviceUnavailable", "The service is temporarily unavailable (its rate limiter "
                             "cannot count requests). Try again later.",
                             headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None

    def get_ident(self, request):
        # DRF's own reads X-Forwarded-For from anyone unless NUM_PROXIES is set; ours trusts only
        # TRUSTED_PROXIES. Unknown addresses share one bucket: they fail closed.
        return client_ip(request) or "unknown"

    def get_cache_key(self, request, view):
        principal = getattr(request, "auth", None)
        ident = getattr(principal, "throttle_key", None) or self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
