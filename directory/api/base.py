"""One implementation of Graph's conventions, used by every endpoint."""

import uuid
from urllib.parse import urlencode

from django.db.models import QuerySet, prefetch_related_objects
from rest_framework.response import Response
from rest_framework.views import APIView

from ..actors import Actor
from . import odata, search
from .bodies import Body
from .errors import bad_request, denied, not_found, unsupported_query
from .expand import expand

SUPPORTED_OPTIONS = {"$filter", "$select", "$top", "$orderby", "$count", "$skiptoken", "$expand"}
#: What a single object's GET takes ($expand only where the view can expand: ``apply_expand``), and what a
#: write that answers the object (``item_response``) takes.
ITEM_OPTIONS = {"$select", "$expand"}
READS = ("GET", "HEAD", "OPTIONS")


class GraphView(APIView):
    """Base for every endpoint: principal, tenant scoping, lists with OData options, errors.

    Subclasses say which ``resource`` they serve, which Graph permissions allow reading and writing,
    and return the tenant-scoped queryset from ``scoped_queryset``. Missing and other-tenant objects
    are the same 404.
    """

    resource: odata.Resource
    context: str = ""  # "users" → @odata.context …/$metadata#users
    read_permissions: tuple[str, ...] = ()
    write_permissions: tuple[str, ...] = ()
    count_needs_eventual = True  # Graph's advanced queries on directory objects
    #: Owners of the object the URL names may write it (delegated, with a write scope granted) even
    #: without the tenant-wide permission: the base view checks ownership before any handler runs.
    owners_may_write = False
    #: The body each write method takes, {"POST": Body}. Handlers read it with ``self.body()``; the same
    #: declaration is the operation's requestBody in the OpenAPI document.
    bodies: dict[str, Body] = {}
    #: What each handler answers, for the OpenAPI document: "list" (a page), "item" (one object, 200),
    #: (status, "item") or a status with no body, e.g. {"get": "list", "post": (201, "item"), "delete": 204}.
    responses: dict[str, str | int | tuple[int, str]] = {}

    @property
    def principal(self) -> Actor:
        return self.request.auth

    #: The query options each write method takes, {"POST": {"$select"}}, where ``write_options`` would
    #: derive them wrongly.
    query_options: dict[str, set[str]] = {}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Every handler, and every $batch step, reads the options by their canonical names ($filter), each
        # given once and not empty (odata.system_options).
        request._request.GET = odata.system_options(request._request.GET)
        if request.method not in READS:
            self.check_write_options()
        self.check_owner(request, kwargs)
        if request.method == "GET" and self.responses.get("get") == "item":
            self.check_item_options()

    def write_options(self, method: str) -> set[str]:
        """The query options a write takes: $select (and $expand where the view expands) when it answers the
        object (item_response honours them), $id on a DELETE of a …/$ref collection; nothing else."""
        if method in self.query_options:
            return self.query_options[method]
        kind = self.responses.get(method.lower())
        options = set()
        if (kind[1] if isinstance(kind, tuple) else kind) == "item":
            options |= ITEM_OPTIONS if getattr(self, "apply_expand", None) is not None else {"$select"}
        if method == "DELETE" and self.request.path_info.endswith("/$ref") and "post" in self.responses:
            options.add("$id")
        return options

    def check_write_options(self) -> None:
        """A query option a write or an action does not take is Graph's 400 Request_UnsupportedQuery, never
        silently ignored (the write is not made)."""
        method = self.request.method
        allowed = self.write_options(method)
        unsupported = sorted(k for k in self.request.query_params if k.startswith("$") and k not in allowed)
        if unsupported:
            raise unsupported_query(f"The query option {unsupported[0][:40]} is not supported on {method} here.")

    def check_owner(self, request, kwargs) -> None:
        """Fail closed: a write by someone without the tenant-wide permission goes on only when the
        caller owns the object the URL names (403 otherwise, whether or not that object exists)."""
        if request.method in ("GET", "HEAD", "OPTIONS") or not self.write_permissions:
            return
        actor = self.principal
        if actor.has_any(self.write_permissions):
            return
        if not self.owners_may_write:
            raise denied()
        obj = self.owned_object(kwargs)
        if obj is None or not any(actor.owns(obj, permission) for permission in self.write_permissions):
            raise denied()

    def owned_object(self, kwargs):
        """The tenant's object whose owners may write through this view (views with ``owners_may_write``),
        or None."""
        raise NotImplementedError

    def body(self) -> dict:
        """The request's body, read against this method's declaration (a Graph-style 400 when it does not
        fit)."""
        return self.bodies[self.request.method].read(self.request.data)

    # -- scoping
    def scoped_queryset(self) -> QuerySet:
        raise NotImplementedError

    def get_object(self, object_id: str, queryset: QuerySet | None = None):
        qs = queryset if queryset is not None else self.scoped_queryset()
        obj = qs.filter(**self.lookup(object_id)).first()
        if obj is None:
            raise not_found()
        return obj

    def lookup(self, object_id: str) -> dict:
        """The filter that finds the object an URL's key names. A key that cannot name one (not a GUID)
        is the same 404 as a missing object, as in Graph."""
        try:
            return {"pk": uuid.UUID(object_id)}
        except (ValueError, TypeError, AttributeError):
            raise not_found(f"Resource '{str(object_id)[:60]}' does not exist or one of its queried "
                            "reference-property objects are not present.") from None

    # -- representation
    def context_url(self, suffix: str = "") -> str:
        return self.request.build_absolute_uri(f"/v1.0/$metadata#{self.context}{suffix}")

    def represent(self, obj, select=None) -> dict:
        return self.resource.represent(obj, select)

    def check_item_options(self) -> None:
        """A single object takes $select (and $expand where the view expands); any other query option is
        Graph's 400 Request_UnsupportedQuery, never silently ignored."""
        params = self.request.query_params
        unsupported = sorted(k for k in params if k.startswith("$") and k not in ITEM_OPTIONS)
        if "$expand" in params and getattr(self, "apply_expand", None) is None:
            unsupported.append("$expand")
        if unsupported:
            raise unsupported_query(f"The query option {unsupported[0][:40]} is not supported on a single "
                                    "object.")

    def apply_expand(self, objects: list, represented: list[dict]) -> list[dict]:
        """$expand (directory/api/expand.py): each represented object with the navigation it names."""
        return expand(self, objects, represented)

    def item_response(self, obj, status: int = 200, headers=None) -> Response:
        select = odata.parse_select(self.resource, self.request.query_params.get("$select"))
        prefetch_related_objects([obj], *self.resource.prefetches(select))
        body = {"@odata.context": self.context_url("/$entity"), **self.apply_expand([obj], [self.represent(obj, select)])[0]}
        return Response(body, status=status, headers=headers)

    def reference_url(self, obj) -> str:
        """The URL a $ref read names an object by: users are the only objects a navigation holds here, and
        ``…/v1.0/users/{id}`` both answers a GET and is accepted back by every ``$ref`` write."""
        return self.request.build_absolute_uri(f"/v1.0/users/{obj.pk}")

    def references_response(self, queryset: QuerySet) -> Response:
        """GET …/$ref on a collection navigation: Graph's ``{"value": [{"@odata.id": url}]}``, with the
        list's $filter, $search, $orderby, $top, $count and keyset paging; a reference has no properties,
        so $select and $expand are 400."""
        for option in ("$select", "$expand"):
            if option in self.request.query_params:
                raise unsupported_query(f"The query option {option} is not supported on $ref.")
        self.context = "directoryObjects"
        return self.list_response(queryset, represent=lambda obj, select: {"@odata.id": self.reference_url(obj)})

    def reference_response(self, obj) -> Response:
        """GET …/$ref on a single-valued navigation (manager): ``{"@odata.id": url}``."""
        params = self.request.query_params
        unsupported = sorted(k for k in params if k.startswith("$"))
        if unsupported:
            raise unsupported_query(f"The query option {unsupported[0][:40]} is not supported on $ref.")
        return Response({"@odata.context": self.request.build_absolute_uri("/v1.0/$metadata#directoryObjects/$entity"),
                         "@odata.id": self.reference_url(obj)})

    def with_default_order(self, order: str) -> None:
        """Write ``order`` into the request's ``$orderby`` when it has none, so that ``@odata.nextLink``
        carries it and its ``$skiptoken`` matches (Graph lists logs newest first)."""
        if not self.request.query_params.get("$orderby"):
            query = self.request._request.GET.copy()
            query["$orderby"] = order
            self.request._request.GET = query

    def list_response(self, queryset: QuerySet, represent=None) -> Response:
        own_properties = represent is None  # not a $ref list's bare references
        represent = represent or self.represent
        params = self.request.query_params
        unsupported = sorted(k for k in params if k.startswith("$") and k not in SUPPORTED_OPTIONS | {"$search"})
        if unsupported:
            raise unsupported_query(f"The query option {unsupported[0][:40]} is not supported.")
        condition = None
        if "$filter" in params:
            condition = odata.parse_filter(self.resource, params["$filter"])
            queryset = queryset.filter(condition)
        searched = None
        if "$search" in params:  # directory/api/search.py (issue 9c)
            searched = search.parse_search(self.resource, params["$search"],
                                           self.request.headers.get("ConsistencyLevel", ""))
        select = odata.parse_select(self.resource, params.get("$select"))
        if own_properties and (lookups := self.resource.prefetches(select)):
            queryset = queryset.prefetch_related(*lookups)  # what the selected properties read, no more
        order = odata.parse_orderby(self.resource, params.get("$orderby"))
        if not order:
            order = [(self.resource.prop(name), False) for name in self.resource.default_order if name != "id"]
            prefixed = odata.prefix_order(self.resource, condition) if condition is not None else None
            if prefixed is not None:  # startswith on the sort key: one index range in order (odata.prefix_order)
                prefix, order = prefixed
                queryset = queryset.filter(prefix)
        elif condition is not None and (prefix := odata.bytewise_prefix(self.resource, condition)) is not None:
            queryset = queryset.filter(prefix)  # the same prefix as a range of the C-collated index
        top = odata.parse_top(params.get("$top"))
        want_count = params.get("$count", "false").lower()
        if want_count not in ("true", "false"):
            raise bad_request("$count must be true or false.")
        body = {"@odata.context": self.context_url()}
        if want_count == "true":
            if self.count_needs_eventual and self.request.headers.get("ConsistencyLevel", "").lower() != "eventual":
                raise unsupported_query("$count needs the request header ConsistencyLevel: eventual.")
            eventual = self.request.headers.get("ConsistencyLevel", "").lower() == "eventual"
            counted = queryset if searched is None else queryset.filter(searched)
            body["@odata.count"] = odata.count(counted, estimate=eventual)  # estimated when large (9d)
        id_field = "pk"
        scope = odata.skiptoken_scope(getattr(self.principal.tenant, "pk", None), self.request.path_info,
                                      params.get("$filter"), params.get("$search"))
        if "$skiptoken" in params:
            queryset = odata.apply_skiptoken(queryset, order, params["$skiptoken"], id_field, scope)
        if searched is None:
            rows = list(queryset.order_by(*odata.ordering_for(order, id_field))[: top + 1])
        else:  # a bounded walk of the list order, then the search index (search.page)
            rows = search.page(queryset, searched, order, id_field, top + 1)
        page, more = rows[:top], len(rows) > top
        body["value"] = self.apply_expand(page, [represent(obj, select) for obj in page])
        if more:
            query = {k: v for k, v in params.items() if k != "$skiptoken"}
            query["$skiptoken"] = odata.make_skiptoken(order, page[-1], id_field, scope)
            body["@odata.nextLink"] = (self.request.build_absolute_uri(self.request.path) + "?"
                                       + urlencode(query, safe="$,'()"))
        return Response(body)

