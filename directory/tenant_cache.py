"""Per-tenant settings every page of a tenant reads (its branding, its collaboration settings), kept per
process and refreshed when they change: the access panel's speed goal counts every round trip
(bench/panel.py), and these rows change a few times a year.

Each :class:`TenantCache` keeps, per process, one copy per tenant together with the version token it was
loaded under. The token lives in Django's cache (Redis in production, shared by every process) and is
asked for at most once per ``TENANT_CACHE_CHECK_SECONDS`` (1 s) per process and tenant. A change calls
:meth:`TenantCache.invalidate` (the models' ``post_save``/``post_delete`` via :meth:`TenantCache.watch`):
this process drops its copy at once and, when the transaction commits, the token is replaced so every
other process reloads on its next check. The same scheme as conditional access (``policies/access.py``).

Two details keep a copy from outliving the truth:

- A tenant changed in a transaction that has not committed yet is read from the database, never kept,
  until that transaction ends: a rollback must not leave this process with values that never were.
- Without the shared cache (Redis down) every read goes to the database.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from .unavailable import CacheUnavailable

T = TypeVar("T")


class TenantCache(Generic[T]):
    """``load(tenant_id)`` once per change per process; ``get(tenant_id)`` otherwise costs no query."""

    def __init__(self, name: str, load: Callable[[Any], T]):
        self.name = name
        self.load = load
        self._local: dict[str, tuple[str, float, T]] = {}  # tenant id → (version, trusted until, value)
        self._dirty: set[str] = set()  # changed in a transaction that has not committed (yet)

    def _key(self, tenant_id: str) -> str:
        return f"tenant-cache:{self.name}:{tenant_id}"

    def get(self, tenant_id) -> T:
        tid = str(tenant_id)
        if tid in self._dirty:
            if connection.in_atomic_block:
                return self.load(tenant_id)  # our own uncommitted change: read it, keep nothing
            self._dirty.discard(tid)  # that transaction ended without committing (its callbacks never ran)
        now = time.monotonic()
        found = self._local.get(tid)
        if found is not None and now < found[1]:
            return found[2]
        key = self._key(tid)
        try:
            version = cache.get(key)
            if version is None:
                version = uuid.uuid4().hex
                if not cache.add(key, version, timeout=None):
                    version = cache.get(key) or version
        except CacheUnavailable:
            return self.load(tenant_id)
        # The token is read before the rows: a change committed in between is loaded under the old token
        # and loaded again once the new token is seen, never the other way round.
        value = found[2] if found is not None and found[0] == version else self.load(tenant_id)
        self._local[tid] = (version, now + getattr(settings, "TENANT_CACHE_CHECK_SECONDS", 1.0), value)
        return value

    def invalidate(self, tenant_id) -> None:
        """Forget the tenant's copy here now, and in every process once the current transaction commits."""
        tid = str(tenant_id)
        self._local.pop(tid, None)
        self._dirty.add(tid)

        def committed():
            self._dirty.discard(tid)
            self._local.pop(tid, None)
            # Cache down: nothing is kept meanwhile, and the next check after it is back reloads.
            with contextlib.suppress(CacheUnavailable):
                cache.set(self._key(tid), uuid.uuid4().hex, timeout=None)

        transaction.on_commit(committed)

    def watch(self, model, tenant_field: str = "tenant_id") -> None:
        """Invalidate on every save and delete of ``model`` (a row that names its tenant in ``tenant_field``).
        A queryset ``update()`` sends no signal: write these rows through their services."""

        def changed(sender, instance, **kwargs):
            self.invalidate(getattr(instance, tenant_field))

        post_save.connect(changed, sender=model, weak=False, dispatch_uid=f"tenant-cache:{self.name}:save")
        post_delete.connect(changed, sender=model, weak=False, dispatch_uid=f"tenant-cache:{self.name}:delete")
