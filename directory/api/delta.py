"""/users/delta and /groups/delta: Graph's delta query, so that sync tools follow changes.

A *round* is one walk through the pages of a delta query: the first call (no token) or a call with a
``$deltatoken``. It fixes its upper bound ``until`` (the time it started) and its lower bound ``since``
(none on the first round: every object that exists). Its pages are keyset pages over
(updated_at, id) — the (tenant, updated_at, id) indexes — and then, on later rounds, over the tombstones
of objects removed for good (``DeletedObject``). Its last page carries ``@odata.deltaLink`` whose token's
watermark is ``until - SETTLE``: the next round returns everything changed after it. The overlap makes
sure a change whose transaction committed after a round read the table (its ``updated_at`` is the time
it was made, not the time it committed) is seen by the next round; an object changed within SETTLE
before a round began may be sent twice, as Graph allows ("the same object may be returned more than
once"; clients apply changes idempotently).

Tokens are opaque (Django signing), carry the tenant, the resource, the round's bounds, the paging key,
the ``$select`` and the page size (``$top``) of the first call; a token that was altered, belongs to another
tenant or another resource is a 400. Following a link keeps the page size (a ``$top`` sent with the token
changes it from there on). ``$deltatoken=latest`` (with ``$select`` and ``$top`` if wanted) starts "from
now on": an empty page whose deltaLink returns only what changes afterwards.

What a later round returns for an object:
- created, changed or restored since the watermark: the object (its $select properties);
- a user soft-deleted since (restorable for 30 days): ``{"id", "@removed": {"reason": "changed"}}``;
- a user purged, a group deleted: ``{"id", "@removed": {"reason": "deleted"}}``.
Membership changes are not reported (no ``members@delta``). A guest whose tenant limits what guests see
gets the objects it may see and no removals.
"""

import datetime
from urllib.parse import urlencode

from django.core import signing
from django.db.models import Q, prefetch_related_objects
from django.utils import timezone
from rest_framework.response import Response

from ..actors import ActorKind
from ..models import DeletedObject, User
from ..selectors import groups_visible_to, users_visible_to
from . import odata
from .base import GraphView
from .errors import bad_request, unsupported_query
from .groups import GROUP_READ
from .resources import GROUP, USER
from .users import USER_READ

DELTA_SALT = "graph.delta"
SETTLE = datetime.timedelta(seconds=30)
DEFAULT_PAGE = 100
OPTIONS = {"$select", "$deltatoken", "$skiptoken", "$top"}
LATEST = "latest"  # $deltatoken=latest: no objects, a deltaLink from now on
_OBJECTS, _REMOVED = "o", "r"


def _ts(value: datetime.datetime) -> str:
    return value.isoformat()


def _dt(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)


class _DeltaView(GraphView):
    responses = {"get": "list"}
    object_type: str  # DeletedObject.ObjectType

    def changed_objects(self, *, with_removed: bool):
        raise NotImplementedError

    def may_see_removals(self) -> bool:
        """Whether the caller reads the whole tenant's directory. The visible_to selectors narrow what a
        guest sees when the tenant limits it; removals of objects it could not see are not its business."""
        actor = self.principal
        return actor.kind != ActorKind.USER or not actor.is_guest or actor.can("Directory.Read.All")

    # -- tokens
    def _token(self, state: dict) -> str:
        return signing.dumps({**state, "t": str(self.principal.tenant.pk), "k": self.context},
                             salt=DELTA_SALT, compress=True)

    def _read_token(self, value: str, kind: str) -> dict:
        try:
            state = signing.loads(value, salt=DELTA_SALT)
            valid = (state.get("t") == str(self.principal.tenant.pk) and state.get("k") == self.context
                     and state.get("kind") == kind)
        except (signing.BadSignature, ValueError, TypeError, AttributeError):
            valid = False
        if not valid:
            name = "$deltatoken" if kind == "delta" else "$skiptoken"
            raise bad_request(f"The {name} is not valid for this tenant and resource: start a new delta round "
                              "without a token.", "Request_BadRequest")
        return state

    def _round(self) -> dict:
        params = self.request.query_params
        unsupported = sorted(k for k in params if k.startswith("$") and k not in OPTIONS)
        if unsupported:
            raise unsupported_query(f"The query option {unsupported[0][:40]} is not supported on delta.")
        if "$deltatoken" in params and "$skiptoken" in params:
            raise bad_request("Send either $deltatoken or $skiptoken, not both.")
        latest = params.get("$deltatoken") == LATEST
        for name in ("$deltatoken", "$skiptoken"):
            if name in params and "$select" in params and not (name == "$deltatoken" and latest):
                raise bad_request(f"$select is fixed by the round's first request; send the {name} alone.")
        top = odata.parse_top(params["$top"]) if "$top" in params else None
        if "$skiptoken" in params:
            state = self._read_token(params["$skiptoken"], "page")
            return {**state, "top": top or state.get("top") or DEFAULT_PAGE}
        now = timezone.now()
        if "$deltatoken" in params and not latest:
            state = self._read_token(params["$deltatoken"], "delta")
            return {"since": state["since"], "until": _ts(now), "phase": _OBJECTS, "after": None,
                    "sel": state["sel"], "top": top or state.get("top") or DEFAULT_PAGE}
        select = odata.parse_select(self.resource, params.get("$select"))
        return {"since": None, "until": _ts(now), "phase": _OBJECTS, "after": None,
                "sel": [p.name for p in select] if select else None, "top": top or DEFAULT_PAGE,
                "latest": latest}

    # -- the page
    def get(self, request):
        state = self._round()
        if state.get("latest"):
            return self._latest(state)
        top = state["top"]
        select = odata.parse_select(self.resource, ",".join(state["sel"])) if state["sel"] else None
        since = _dt(state["since"]) if state["since"] else None
        until = _dt(state["until"])
        value: list[dict] = []
        phase, after = state["phase"], state["after"]
        more = False
        if phase == _OBJECTS:
            rows = self._objects(since, until, after, top + 1)
            prefetch_related_objects(rows[:top], *self.resource.prefetches(select))
            more = len(rows) > top
            for obj in rows[:top]:
                if getattr(obj, "deleted_at", None) is not None:
                    value.append({"id": str(obj.pk), "@removed": {"reason": "changed"}})
                else:
                    value.append(self.represent(obj, select))
            if more:
                last = rows[top - 1]
                after = [_ts(last.updated_at), str(last.pk)]
            elif since is not None and self.may_see_removals():
                phase, after = _REMOVED, None
        if phase == _REMOVED and not more:
            room = top - len(value)
            removed = self._removed(since, until, after, room + 1)
            more = len(removed) > room
            for row in removed[:room]:
                value.append({"id": str(row.object_id), "@removed": {"reason": "deleted"}})
            if more:
                last = removed[room - 1] if room else None
                after = [_ts(last.deleted_at), last.pk] if last else after
        body = {"@odata.context": self.context_url()}
        base = self.request.build_absolute_uri(self.request.path) + "?"
        if more:
            token = self._token({"kind": "page", "since": state["since"], "until": state["until"],
                                 "phase": phase, "after": after, "sel": state["sel"], "top": top})
            body["@odata.nextLink"] = base + urlencode({"$skiptoken": token}, safe="$")
        else:
            body["@odata.deltaLink"] = self._delta_link(until, state)
        body["value"] = value
        return Response(body)

    def _delta_link(self, until: datetime.datetime, state: dict) -> str:
        token = self._token({"kind": "delta", "since": _ts(until - SETTLE), "sel": state["sel"], "top": state["top"]})
        return self.request.build_absolute_uri(self.request.path) + "?" + urlencode({"$deltatoken": token}, safe="$")

    def _latest(self, state: dict) -> Response:
        """``$deltatoken=latest``: Graph's way to skip the full sync: no objects, and a deltaLink whose next
        round returns what changes from now on (with the usual SETTLE overlap)."""
        return Response({"@odata.context": self.context_url(),
                         "@odata.deltaLink": self._delta_link(_dt(state["until"]), state), "value": []})

    def _objects(self, since, until, after, limit) -> list:
        rows = self.changed_objects(with_removed=since is not None).filter(updated_at__lte=until)
        if since is not None:
            rows = rows.filter(updated_at__gt=since)
        if after:
            at, pk = _dt(after[0]), after[1]
            rows = rows.filter(Q(updated_at__gt=at) | Q(updated_at=at, pk__gt=pk))
        return list(rows.order_by("updated_at", "pk")[:limit])

    def _removed(self, since, until, after, limit) -> list:
        rows = DeletedObject.objects.filter(tenant=self.principal.tenant, object_type=self.object_type,
                                            deleted_at__gt=since, deleted_at__lte=until)
        if after:
            at, pk = _dt(after[0]), after[1]
            rows = rows.filter(Q(deleted_at__gt=at) | Q(deleted_at=at, pk__gt=pk))
        return list(rows.order_by("deleted_at", "pk")[:limit])


class UsersDeltaView(_DeltaView):
    """Users created, changed or deleted since the round the ``$deltatoken`` came from (every user on the
    first call). Follow ``@odata.nextLink`` to the last page; keep its ``@odata.deltaLink`` for next time."""

    resource = USER
    context = "users"
    read_permissions = USER_READ
    object_type = DeletedObject.ObjectType.USER

    def changed_objects(self, *, with_removed: bool):
        users = users_visible_to(self.principal)
        if with_removed and self.may_see_removals():
            users = users | User.objects.deleted().filter(tenant=self.principal.tenant)
        return users


class GroupsDeltaView(_DeltaView):
    """Groups created, changed or deleted since the round the ``$deltatoken`` came from (every group on
    the first call)."""

    resource = GROUP
    context = "groups"
    read_permissions = GROUP_READ
    object_type = DeletedObject.ObjectType.GROUP

    def changed_objects(self, *, with_removed: bool):
        return groups_visible_to(self.principal)


class UsersDeltaFunctionView(UsersDeltaView):
    """/users/delta(): the function-call spelling the msgraph SDKs send. The same view as /users/delta,
    which documents it (the OpenAPI generator cannot read "()" in a route); its contract tests run all
    the same (tests/api/test_delta.py)."""

    contract_exempt = True
    schema = None  # not a second operation in the OpenAPI document


class GroupsDeltaFunctionView(GroupsDeltaView):
    """/groups/delta(), as /groups/delta (see UsersDeltaFunctionView)."""

    contract_exempt = True
    schema = None


__all__ = ["SETTLE", "GroupsDeltaFunctionView", "GroupsDeltaView", "UsersDeltaFunctionView", "UsersDeltaView"]
