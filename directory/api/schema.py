"""The OpenAPI document, generated from the API's own code (drf-spectacular).

Nothing here is written per endpoint. For every ``GraphView`` the schema is derived from what the
view declares:

- its ``resource`` (its ``Prop`` types become the component ``microsoft.graph.<name>``), with
  ``prop_schemas = {"propName": {…}}`` for shapes of object/collection properties a ``Prop`` type
  cannot say,
- its ``responses`` (``{"get": "list", "post": (201, "item"), "delete": 204}``: a collection page,
  one object, or no body),
- its ``bodies`` (``{"POST": Body}``, the same declarations the handlers read requests with, see
  ``bodies.py``), which become the requestBody,
- its ``read_permissions`` / ``write_permissions`` (listed in the description).

A handler without a declared response, or a write without a declared body, is a generator warning
(``manage.py spectacular --fail-on-warn`` fails on it).

``GraphSchemaGenerator`` (SPECTACULAR_SETTINGS["DEFAULT_GENERATOR_CLASS"]) gives every GraphView
the ``GraphAutoSchema`` below; importing this module also registers the bearer-token scheme.
"""

import inspect
import re

from drf_spectacular.drainage import warn
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .base import GraphView
from .odata import MAX_TOP, Prop, Resource

API_PREFIXES = ("/v1.0/", "/beta/")


class GraphTokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "directory.api.auth.GraphTokenAuthentication"
    name = "bearer"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An access token from this deployment's OAuth server: POST "
                           "/identity/o/api/token with grant_type=client_credentials, the app registration's "
                           "client_id and client_secret, and scope=.default.",
        }


def only_graph_endpoints(endpoints, **kwargs):
    """Preprocessing hook: the document describes the Graph-shaped API and nothing else.

    Graph's paths hold a literal "$" (``…/members/$ref``) or a function call's parentheses
    (``…/filterByCurrentUser(on='target')``). The enumerator reads routes as regular expressions and
    drops the one and takes the other for a group, so such paths are rebuilt from the route itself."""
    result = []
    for path, route, method, callback in endpoints:
        if ("$" in route or "(" in route) and not route.startswith("^"):
            path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        if path.startswith(API_PREFIXES):
            result.append((path, route, method, callback))
    return result


class GraphSchemaGenerator(SchemaGenerator):
    def create_view(self, callback, method, request=None):
        view = super().create_view(callback, method, request)
        if isinstance(view, GraphView) and not isinstance(view.schema, GraphAutoSchema):
            current = view.schema.__class__  # (a weak proxy when @extend_schema set it)
            if current is AutoSchema:
                schema_class = GraphAutoSchema
            else:  # @extend_schema made a subclass of AutoSchema: keep its overrides on top of ours
                mro = tuple(c for c in current.__mro__ if c not in AutoSchema.__mro__) + GraphAutoSchema.__mro__
                schema_class = type("GraphExtendedSchema", mro, {})
            self._set_schema_to_view(view, schema_class())
        return view


# --- schemas --------------------------------------------------------------------------------------

ODATA_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "example": "Request_ResourceNotFound"},
                "message": {"type": "string"},
                "innerError": {
                    "type": "object",
                    "properties": {
                        "date": {"type": "string"},
                        "request-id": {"type": "string"},
                        "client-request-id": {"type": "string"},
                    },
                },
            },
        }
    },
}

_BASIC = {
    "string": {"type": "string"},
    "bool": {"type": "boolean"},
    "guid": {"type": "string", "format": "uuid"},
    "datetime": {"type": "string", "format": "date-time"},
    "int": {"type": "integer"},
    "enum": {"type": "string"},
    "collection": {"type": "array", "items": {}},
    "object": {"type": "object", "additionalProperties": True},
}

# Shapes of the foundation's object and collection properties (a Prop only says "collection").
KNOWN_PROP_SCHEMAS: dict[tuple[str, str], dict] = {
    ("microsoft.graph.user", "businessPhones"): {"type": "array", "items": {"type": "string"}},
    ("microsoft.graph.user", "otherMails"): {"type": "array", "items": {"type": "string"}},
    ("microsoft.graph.user", "identities"): {"type": "array", "items": {
        "type": "object", "properties": {"signInType": {"type": "string"}, "issuer": {"type": "string"},
                                         "issuerAssignedId": {"type": "string", "nullable": True}}}},
    ("microsoft.graph.group", "groupTypes"): {"type": "array", "items": {"type": "string"}},
    ("microsoft.graph.servicePrincipal", "tags"): {"type": "array", "items": {"type": "string"}},
}

_STRING_ACTIONS = {"GET": "get", "POST": "create", "PUT": "set", "PATCH": "update", "DELETE": "delete"}


def prop_schema(resource: Resource, prop: Prop, extra: dict | None = None) -> dict:
    if extra and prop.name in extra:
        return dict(extra[prop.name])
    known = KNOWN_PROP_SCHEMAS.get((resource.odata_type, prop.name))
    schema = dict(known or _BASIC.get(prop.type, {"type": "string"}))
    if prop.type == "enum" and prop.choices:
        schema["enum"] = [*prop.choices, "unknownFutureValue"]
    if prop.name != "id":
        schema["nullable"] = True
    return schema


BODY_METHODS = ("POST", "PUT", "PATCH")
#: "count": a number as text/plain (…/$count); "strings": {"value": [string]} (checkMemberGroups and kin);
#: "refs": a page of references {"value": [{"@odata.id"}]} (…/$ref); "ref": one reference (manager/$ref).
RESPONSE_KINDS = ("list", "item", "count", "strings", "refs", "ref")


def declared_responses(view, method: str) -> dict[int, str] | None:
    """A handler's declared answer as {status: "list" | "item" | "empty"}; None when it declares none."""
    declared = getattr(view, "responses", {}).get(method.lower())
    if declared is None:
        return None
    if isinstance(declared, int):
        return {declared: "empty"}
    status, kind = (200, declared) if isinstance(declared, str) else declared
    if kind not in RESPONSE_KINDS:
        raise ValueError(f"{type(view).__name__}.responses[{method.lower()!r}]: {kind!r} is not one of "
                         f"{RESPONSE_KINDS} or a status")
    return {status: kind}


class GraphAutoSchema(AutoSchema):
    """Derives each GraphView operation from the view's resource, handler and permissions."""

    # -- helpers
    @property
    def _handler(self):
        return getattr(self.view, self.method.lower(), None)

    def _segments(self) -> list[str]:
        return [s for s in self.path.split("/") if s]

    def _returns(self) -> dict[int, str]:
        declared = declared_responses(self.view, self.method)
        if declared is None:
            warn(f"{type(self.view).__name__} declares no response for {self.method} in `responses`")
            return {200: "item"}
        return declared

    def _is_collection(self) -> bool:
        return self.method == "GET" and bool({"list", "refs"} & set(self._returns().values()))

    def _register(self, name: str, schema: dict) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
        self.registry.register_on_missing(component)
        return component.ref

    def _item_ref(self) -> dict:
        resource: Resource | None = getattr(self.view, "resource", None)
        if resource is None:
            return {"type": "object", "additionalProperties": True}
        extra = getattr(self.view, "prop_schemas", None)
        properties = {"@odata.context": {"type": "string"}, "@odata.type": {"type": "string"}}
        properties.update({p.name: prop_schema(resource, p, extra) for p in resource.props if "/" not in p.name})
        return self._register(resource.odata_type, {"type": "object", "properties": properties})

    def _collection_ref(self) -> dict:
        resource: Resource | None = getattr(self.view, "resource", None)
        name = (resource.odata_type if resource else "microsoft.graph.entity") + "CollectionResponse"
        return self._register(name, {
            "type": "object",
            "required": ["value"],
            "properties": {
                "@odata.context": {"type": "string"},
                "@odata.count": {"type": "integer"},
                "@odata.nextLink": {"type": "string", "nullable": True},
                "value": {"type": "array", "items": self._item_ref()},
            },
        })

    # -- operation pieces
    def get_operation_id(self) -> str:
        parts = []
        for segment in self._segments():
            if segment.startswith("{"):
                parts.append("item")
            elif segment == "v1.0":
                continue
            else:
                parts.append(segment.lstrip("$"))
        action = "list" if self._is_collection() else _STRING_ACTIONS[self.method]
        return ".".join([*parts, action])

    def get_tags(self) -> list[str]:
        literal = [s for s in self._segments()[1:] if not s.startswith("{")]
        tag = literal[0] if literal else "root"
        return [f"{tag} (beta)" if self.path.startswith("/beta/") else tag]

    def get_description(self) -> str:
        cls = type(self.view)
        docs = []
        for doc in (cls.__dict__.get("__doc__"), getattr(self._handler, "__doc__", None)):
            if doc:
                docs.append(inspect.cleandoc(doc))
        wanted = self.view.read_permissions if self.method == "GET" else self.view.write_permissions
        if wanted:
            docs.append("Permissions (any one of): " + ", ".join(f"`{p}`" for p in wanted) + ".")
        return "\n\n".join(docs)

    def get_override_parameters(self):
        params = []
        if self.method == "GET" and not {"refs", "ref"} & set(self._returns().values()):
            params.append(OpenApiParameter("$select", str, OpenApiParameter.QUERY,
                                           description="Comma-separated properties to return."))
        if self._is_collection():
            params += [
                OpenApiParameter("$filter", str, OpenApiParameter.QUERY,
                                 description="OData filter: eq, ne, in, startswith, endswith, gt/ge/lt/le, "
                                             "and, or, not, on declared properties."),
                OpenApiParameter("$orderby", str, OpenApiParameter.QUERY,
                                 description="Up to three sortable properties, each optionally 'desc'."),
                OpenApiParameter("$top", {"type": "integer", "minimum": 1, "maximum": MAX_TOP},
                                 OpenApiParameter.QUERY, description="Page size (default 100)."),
                OpenApiParameter("$count", bool, OpenApiParameter.QUERY,
                                 description="Include @odata.count (needs ConsistencyLevel: eventual)."),
                OpenApiParameter("$skiptoken", str, OpenApiParameter.QUERY,
                                 description="Opaque; taken from @odata.nextLink."),
                OpenApiParameter("ConsistencyLevel", str, OpenApiParameter.HEADER, enum=["eventual"],
                                 description="Graph's advanced queries ($count)."),
            ]
        return params

    def _resolve_path_parameters(self, variables):
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            parameter["description"] = "The object's id (a GUID)" + (
                " or userPrincipalName." if parameter["name"] == "user_id" else ".")
        return parameters

    def _body(self):
        return getattr(self.view, "bodies", {}).get(self.method)

    def get_request_serializer(self):
        if self.method not in BODY_METHODS:
            return None
        body = self._body()
        if body is None:
            warn(f"{type(self.view).__name__} declares no body for {self.method} in `bodies`")
            return {"application/json": {"type": "object", "additionalProperties": True}}
        return {"application/json": body.json_schema()}

    def _get_request_body(self, direction="request"):
        request_body = super()._get_request_body(direction)
        if request_body and self._body() is not None:
            request_body["required"] = True
        return request_body

    def get_response_serializers(self):
        error = self._register("microsoft.graph.ODataError", ODATA_ERROR)
        responses = {}
        for status, kind in sorted(self._returns().items()):
            if kind == "list":
                responses[status] = OpenApiResponse(self._collection_ref(), description="A page of results.")
            elif kind == "item":
                responses[status] = OpenApiResponse(self._item_ref(), description="The object.")
            elif kind == "count":
                responses[(status, "text/plain")] = OpenApiResponse(
                    {"type": "integer", "minimum": 0}, description="The number, as text (Accept: text/plain).")
            elif kind == "strings":
                responses[status] = OpenApiResponse(self._register("microsoft.graph.stringCollectionResponse", {
                    "type": "object", "required": ["value"], "properties": {
                        "@odata.context": {"type": "string"},
                        "value": {"type": "array", "items": {"type": "string"}}}}), description="The ids.")
            elif kind in ("refs", "ref"):
                reference = self._register("microsoft.graph.reference", {
                    "type": "object", "required": ["@odata.id"], "properties": {
                        "@odata.id": {"type": "string", "description": "The object's URL: …/v1.0/users/{id}."}}})
                if kind == "ref":
                    responses[status] = OpenApiResponse(reference, description="The reference.")
                else:
                    responses[status] = OpenApiResponse(self._register("microsoft.graph.referenceCollectionResponse", {
                        "type": "object", "required": ["value"], "properties": {
                            "@odata.context": {"type": "string"}, "@odata.count": {"type": "integer"},
                            "@odata.nextLink": {"type": "string", "nullable": True},
                            "value": {"type": "array", "items": reference}}}), description="A page of references.")
            else:
                responses[status] = OpenApiResponse(description="No content.")
        errors = {400: "Bad request (Request_BadRequest, Request_UnsupportedQuery).",
                  401: "No valid access token (InvalidAuthenticationToken).",
                  403: "The token lacks the permission (Authorization_RequestDenied).",
                  429: "Too many requests; see Retry-After."}
        if "{" in self.path:
            errors[404] = "No such object in this tenant (Request_ResourceNotFound)."
        if self.method in ("POST", "PUT", "PATCH"):
            errors[413] = "The body is too large (Request_EntityTooLarge)."
            errors[415] = "The body is not JSON."
        as_text = "count" in self._returns().values()  # errors stay JSON where the success is text
        for status, description in sorted(errors.items()):
            responses[(status, "application/json") if as_text else status] = OpenApiResponse(
                error, description=description)
        return responses

    def _get_response_headers_for_code(self, status_code, direction="response"):
        headers = super()._get_response_headers_for_code(status_code, direction)
        if str(status_code) == "429":
            headers["Retry-After"] = {"schema": {"type": "integer"}, "description": "Seconds to wait."}
        return headers
