"""The OpenAPI document is generated from the code, complete, warning-free, and browsable offline."""

import re
from html import unescape

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/v1.0/$schema")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def _graph_routes():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    for route, callback in walk(get_resolver().url_patterns):
        view = getattr(callback, "view_class", None)
        if route.startswith(("v1.0/", "beta/")) and view is not None and not getattr(view, "contract_exempt", False):
            yield "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route), view


def test_generation_validates_with_no_warnings(tmp_path):
    """`manage.py spectacular --validate --fail-on-warn` (raises on any warning or invalid document)."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0.3")


def test_every_graph_route_and_method_is_documented(document):
    paths = document["paths"]
    missing = []
    for path, view in _graph_routes():
        for method in ("get", "post", "patch", "put", "delete"):
            if hasattr(view, method) and method not in paths.get(path, {}):
                missing.append(f"{method.upper()} {path}")
    assert not missing, missing
    assert not [p for p in paths if not p.startswith(("/v1.0/", "/beta/"))]
    assert "/v1.0/groups/{group_id}/members/$ref" in paths or not any("members" in p for p in paths)


def test_operation_ids_are_unique_and_every_operation_needs_a_bearer_token(document):
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearer"]["description"]}
    ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            ids.append(operation["operationId"])
            assert operation["security"] == [{"bearer": []}], (method, path)
            for status in ("401", "403", "400"):
                assert operation["responses"][status]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/microsoft.graph.ODataError"}
    assert len(ids) == len(set(ids))
    assert {"users.list", "users.item.get", "invitations.create", "policies.authorizationPolicy.update",
            "beta.policies.b2bManagementPolicies.item.update"} <= set(ids)


def test_response_schemas_come_from_each_views_resource(document):
    paths, schemas = document["paths"], document["components"]["schemas"]

    def ok_schema(path, method, status):
        return paths[path][method]["responses"][status]["content"]["application/json"]["schema"]["$ref"]

    assert ok_schema("/v1.0/users", "get", "200").endswith("/microsoft.graph.userCollectionResponse")
    assert ok_schema("/v1.0/users/{user_id}", "get", "200").endswith("/microsoft.graph.user")
    assert ok_schema("/v1.0/invitations", "post", "201").endswith("/microsoft.graph.invitation")
    assert ok_schema("/v1.0/policies/authorizationPolicy", "get", "200").endswith("/microsoft.graph.authorizationPolicy")
    assert set(paths["/v1.0/policies/authorizationPolicy"]["patch"]["responses"]) >= {"204", "400", "403"}
    user = schemas["microsoft.graph.user"]["properties"]
    assert user["userType"]["enum"] == ["Member", "Guest", "unknownFutureValue"]
    assert user["externalUserStateChangeDateTime"]["format"] == "date-time"
    invitation = schemas["microsoft.graph.invitation"]["properties"]
    assert {"inviteRedeemUrl", "invitedUserMessageInfo", "invitedUser", "status", "resetRedemption"} <= set(invitation)
    assert invitation["invitedUser"]["properties"]["id"]["format"] == "uuid"
    policy = schemas["microsoft.graph.authorizationPolicy"]["properties"]
    assert policy["allowInvitesFrom"]["enum"][-1] == "unknownFutureValue"
    collection = schemas["microsoft.graph.userCollectionResponse"]["properties"]
    assert {"value", "@odata.nextLink", "@odata.count"} <= set(collection)
    parameters = {p["name"] for p in paths["/v1.0/users"]["get"]["parameters"]}
    assert {"$filter", "$select", "$top", "$orderby", "$count", "$skiptoken", "ConsistencyLevel"} <= parameters
    body = paths["/v1.0/invitations"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"]["required"] == ["invitedUserEmailAddress", "inviteRedirectUrl"]


def test_descriptions_name_the_permissions(document):
    operation = document["paths"]["/v1.0/invitations"]["post"]
    assert "`User.Invite.All`" in operation["description"]
    assert "Base for every endpoint" not in operation["description"]  # not GraphView's own docstring


def test_yaml_on_request(client):
    response = client.get("/v1.0/$schema", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200 and response.content.startswith(b"openapi: 3.0.3")


def test_browsable_ui_is_served_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = [unescape(a) for a in re.findall(r'(?:src|href)="([^"]+)"', html)]
    # Nothing from a CDN: static files, and the start-up script from the page itself (no inline script,
    # for the Content-Security-Policy).
    assert assets and all(a.startswith(("/static/", "/api/docs/?")) for a in assets), assets
    served_text = ""
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        served_text += (b"".join(served.streaming_content) if served.streaming else served.content).decode(
            errors="replace")
    assert "/v1.0/$schema" in served_text


def test_unknown_paths_under_the_api_answer_in_json(client):
    for path in ("/v1.0/nosuch", "/v1.0/users/x/y/z", "/beta/users", "/v1.0/users/"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert response.json()["error"]["code"] == "Request_BadRequest"
    response = client.post("/v1.0/nosuch", {})
    assert response.status_code == 400 and response.json()["error"]["message"].endswith("'nosuch'.")


# --- declarations: request bodies and responses --------------------------------------------------

BODY_METHODS = ("post", "put", "patch")


def _request_schema(document, path, method):
    body = document["paths"][path][method]["requestBody"]
    assert body["required"] is True, (method, path)
    return body["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    ("path", "method", "required", "some_properties"),
    [
        ("/v1.0/users", "post",
         ["accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"],
         {"givenName", "mail"}),
        ("/v1.0/users/{user_id}", "patch", None, {"displayName", "otherMails", "accountEnabled", "userType"}),
        ("/v1.0/groups", "post", ["displayName", "mailNickname", "mailEnabled", "securityEnabled"],
         {"description", "visibility", "owners@odata.bind", "members@odata.bind"}),
        ("/v1.0/groups/{group_id}", "patch", None, {"displayName", "description", "visibility"}),
        ("/v1.0/invitations", "post", ["invitedUserEmailAddress", "inviteRedirectUrl"],
         {"invitedUserMessageInfo", "resetRedemption", "invitedUser"}),
        ("/v1.0/servicePrincipals/{sp_id}/appRoleAssignedTo", "post", ["principalId", "resourceId", "appRoleId"],
         set()),
        ("/v1.0/groups/{group_id}/members/$ref", "post", ["@odata.id"], set()),
    ],
)
def test_request_bodies_are_documented_from_the_views_declarations(document, path, method, required,
                                                                   some_properties):
    view = dict(_graph_routes())[path]
    declared = view.bodies[method.upper()]
    schema = _request_schema(document, path, method)
    assert schema == declared.json_schema()
    assert list(schema["properties"]) == list(declared.fields)
    assert some_properties <= set(schema["properties"])
    assert schema.get("required") == required
    assert schema["additionalProperties"] is False  # the declaration refuses unknown properties
    if method == "patch":
        assert schema["minProperties"] == 1  # "The request body names no property to update."


def test_documented_body_details_come_from_the_fields(document):
    users = _request_schema(document, "/v1.0/users", "post")["properties"]
    assert users["displayName"] == {"type": "string", "maxLength": 256}
    assert users["givenName"] == {"type": "string", "maxLength": 64, "nullable": True}
    assert users["passwordProfile"]["required"] == ["password"]
    patch = _request_schema(document, "/v1.0/users/{user_id}", "patch")["properties"]
    assert patch["userType"]["enum"] == ["Member", "Guest"]
    assert patch["otherMails"] == {"type": "array", "items": {"type": "string", "maxLength": 256}, "maxItems": 20}
    groups = _request_schema(document, "/v1.0/groups", "post")["properties"]
    assert groups["members@odata.bind"]["maxItems"] == 20
    invitation = _request_schema(document, "/v1.0/invitations", "post")["properties"]
    cc = invitation["invitedUserMessageInfo"]["properties"]["ccRecipients"]
    assert cc["maxItems"] == 1
    assert cc["items"]["properties"]["emailAddress"]["required"] == ["address"]
    assert invitation["invitedUser"]["required"] == ["id"]
    # The invitation's answer shows invitedUserMessageInfo in the shape the request declares.
    answer = document["components"]["schemas"]["microsoft.graph.invitation"]["properties"]
    assert answer["invitedUserMessageInfo"]["properties"] == invitation["invitedUserMessageInfo"]["properties"]
    b2b = _request_schema(document, "/beta/policies/b2bManagementPolicies/{policy_id}", "patch")["properties"]
    assert b2b["definition"]["maxItems"] == 1  # a hand-written fragment, declared on the field


def test_every_write_endpoint_declares_its_body_and_every_handler_its_response():
    """A new GraphView cannot skip its declarations: each handler names its answer in `responses`, each
    POST/PUT/PATCH names its body in `bodies`, and nothing is declared for a method the view lacks."""
    from directory.api.base import GraphView
    from directory.api.bodies import Body
    from directory.api.schema import declared_responses

    problems, seen = [], 0
    for path, view in _graph_routes():
        assert issubclass(view, GraphView), path
        handlers = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)]
        for method in handlers:
            seen += 1
            if declared_responses(view, method) is None:
                problems.append(f"{view.__name__}: no `responses` entry for {method}")
            if method in BODY_METHODS and not isinstance(view.bodies.get(method.upper()), Body):
                problems.append(f"{view.__name__}: no `bodies` entry for {method.upper()}")
        problems += [f"{view.__name__}: `bodies` declares {m} but there is no handler"
                     for m in view.bodies if m.lower() not in handlers]
        problems += [f"{view.__name__}: `responses` declares {m} but there is no handler"
                     for m in view.responses if m not in handlers]
    assert seen > 30
    assert not problems, problems


def test_a_view_without_declarations_is_a_generator_warning():
    """`spectacular --fail-on-warn` (test_generation_validates_with_no_warnings) then fails."""
    from django.urls import path
    from drf_spectacular.drainage import GENERATOR_STATS

    from directory.api.base import GraphView
    from directory.api.resources import USER
    from directory.api.schema import GraphSchemaGenerator

    class UndeclaredView(GraphView):
        resource = USER

        def get(self, request): ...

        def post(self, request): ...

    generator = GraphSchemaGenerator(patterns=[path("v1.0/undeclared", UndeclaredView.as_view())])
    GENERATOR_STATS.reset()
    try:
        with GENERATOR_STATS.silence():
            generator.get_schema(request=None, public=True)
        warnings = "\n".join(GENERATOR_STATS._warn_cache)
    finally:
        GENERATOR_STATS.reset()
    assert "UndeclaredView declares no response for GET" in warnings
    assert "UndeclaredView declares no response for POST" in warnings
    assert "UndeclaredView declares no body for POST" in warnings
