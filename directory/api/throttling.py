from rest_framework.throttling import SimpleRateThrottle

from ..net import client_ip


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

    def get_ident(self, request):
        # DRF's own reads X-Forwarded-For from anyone unless NUM_PROXIES is set; ours trusts only
        # TRUSTED_PROXIES. Unknown addresses share one bucket: they fail closed.
        return client_ip(request) or "unknown"

    def get_cache_key(self, request, view):
        principal = getattr(request, "auth", None)
        ident = getattr(principal, "throttle_key", None) or self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
