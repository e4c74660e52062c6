"""Conventions every Graph endpoint shares: request-id headers, keys, query options on single objects,
and error messages."""

import uuid

import pytest

from directory.authz import APPLICATION_PERMISSIONS
from directory.models import AuditEvent
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, APPLICATION_PERMISSIONS))


# --- request-id / client-request-id --------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1.0/users", "/v1.0/users/not-a-guid", "/v1.0/nosuch", "/beta/nosuch",
                                  "/v1.0/organization", "/v1.0/$schema"])
def test_every_api_answer_carries_a_request_id_and_echoes_the_client_request_id(client, path):
    client_request_id = str(uuid.uuid4())
    response = client.get(path, HTTP_CLIENT_REQUEST_ID=client_request_id)
    assert uuid.UUID(response["request-id"])
    assert response["client-request-id"] == client_request_id
    if response.status_code >= 400:
        inner = response.json()["error"]["innerError"]
        assert inner["request-id"] == response["request-id"]
        assert inner["client-request-id"] == client_request_id


def test_request_ids_differ_per_request_and_are_the_audit_correlation_id(client, api_tenant):
    user = UserFactory(tenant=api_tenant)
    first = client.patch(f"/v1.0/users/{user.pk}", {"department": "Sales"}, format="json")
    second = client.get("/v1.0/users")
    assert first.status_code == 204 and first["request-id"] != second["request-id"]
    event = AuditEvent.objects.get(activity_display_name="Update user")
    assert str(event.correlation_id) == first["request-id"]


def test_unauthenticated_answers_carry_a_request_id_too(api):
    response = api().get("/v1.0/users")
    assert response.status_code == 401 and uuid.UUID(response["request-id"])
    assert "client-request-id" not in response  # none was sent


@pytest.mark.parametrize("value", ["a" * 101, "two words", "<script>", "x\u00e9"])
def test_an_odd_client_request_id_is_not_echoed(client, value):
    response = client.get("/v1.0/users/not-a-guid", HTTP_CLIENT_REQUEST_ID=value)
    assert "client-request-id" not in response
    assert "client-request-id" not in response.json()["error"]["innerError"]


def test_pages_outside_the_api_get_no_graph_headers(client):
    assert "request-id" not in client.get("/accounts/login/")


# --- keys ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/v1.0/users/{bad}", "/v1.0/groups/{bad}", "/v1.0/groups/{bad}/members", "/v1.0/groups/{bad}/owners",
    "/v1.0/groups/{group}/members/{bad}/$ref", "/v1.0/servicePrincipals/{bad}", "/v1.0/organization/{bad}",
    "/v1.0/auditLogs/directoryAudits/{bad}", "/beta/policies/b2bManagementPolicies/{bad}",
])
@pytest.mark.parametrize("bad", ["not-a-guid", "42", "0000"])
def test_a_key_that_is_not_a_guid_is_404_resource_not_found(client, api_tenant, path, bad):
    group = GroupFactory(tenant=api_tenant)
    method = "delete" if path.endswith("$ref") else "get"
    response = getattr(client, method)(path.format(bad=bad, group=group.pk))
    assert response.status_code == 404, response.content
    error = response.json()["error"]
    assert error["code"] == "Request_ResourceNotFound" and bad in error["message"]


def test_the_key_form_works_for_groups_too(client, api_tenant):
    group = GroupFactory(tenant=api_tenant)
    assert client.get(f"/v1.0/groups('{group.pk}')").json()["id"] == str(group.pk)


# --- query options on single objects ---------------------------------------------------------------


@pytest.mark.parametrize("option", ["$filter", "$top", "$orderby", "$count", "$skiptoken", "$search", "$skip",
                                    "$format", "$nonsense"])
def test_list_options_on_a_single_object_are_400_unsupported_query(client, api_tenant, option):
    user = UserFactory(tenant=api_tenant)
    for path in (f"/v1.0/users/{user.pk}", f"/v1.0/organization/{api_tenant.pk}"):
        response = client.get(path, {option: "1"})
        assert response.status_code == 400, (path, response.content)
        error = response.json()["error"]
        assert error["code"] == "Request_UnsupportedQuery" and option in error["message"]


def test_select_on_a_single_object_still_works(client, api_tenant):
    user = UserFactory(tenant=api_tenant, department="Sales")
    body = client.get(f"/v1.0/users/{user.pk}", {"$select": "department"}).json()
    assert body == {"@odata.context": "http://testserver/v1.0/$metadata#users/$entity", "id": str(user.pk),
                    "department": "Sales"}


# --- $top and error messages -------------------------------------------------------------------------


@pytest.mark.parametrize("top", ["\uff11", "\u0661", "\u00b2", "1\u0660", "+1", " 1", "1.0"])
def test_top_takes_ascii_digits_only(client, top):
    response = client.get("/v1.0/users", {"$top": top})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "Request_BadRequest"


def test_a_duplicate_user_error_names_no_django_internals(client, api_tenant):
    UserFactory(tenant=api_tenant, user_principal_name="dee@tailwind.example")
    response = client.post("/v1.0/users", {
        "accountEnabled": True, "displayName": "Dee", "mailNickname": "dee", "userPrincipalName": "DEE@tailwind.example",
        "passwordProfile": {"password": "A-long-passphrase-for-api-1"}}, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message == "A user with this user principal name already exists in this tenant."


def test_field_errors_are_named_as_graph_names_the_property(client):
    response = client.post("/v1.0/users", {
        "accountEnabled": True, "displayName": "Dee", "mailNickname": "dee", "userPrincipalName": "dee@elsewhere.example",
        "passwordProfile": {"password": "A-long-passphrase-for-api-1"}}, format="json")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("userPrincipalName: ") and "user_principal_name" not in message


def test_validation_message_joins_graph_names():
    from django.core.exceptions import NON_FIELD_ERRORS

    from directory.api.errors import validation_message

    detail = {NON_FIELD_ERRORS: ["Clash."], "usage_location": ["Bad code."], "email": ["No."]}
    assert validation_message(detail, {"email": "invitedUserEmailAddress"}) == (
        "Clash.; usageLocation: Bad code.; invitedUserEmailAddress: No.")
