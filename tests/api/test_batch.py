"""POST /v1.0/$batch: each step runs through the same views as the same caller, in dependsOn order."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.models import Group
from tests.api.contract import EndpointContract
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def step(step_id, url, method="GET", **extra):
    return {"id": step_id, "method": method, "url": url, **extra}


class TestBatch(EndpointContract):
    """The batch itself needs only a valid token; each step answers what the caller may do."""

    route = "$batch"
    method = "post"
    permission = "User.Read.All"
    member_status = 200  # the batch answers; its steps answer what a member may (members read /users)

    def body(self, tenant, target):
        return {"requests": [step("1", "/users")]}

    @pytest.mark.django_db
    def test_without_the_permission_is_403(self, api, app_token_for):
        tenant = TenantFactory()
        response = self.call(api(app_token_for(tenant, [self.other_permission])), tenant, {})
        assert response.status_code == 200, response.content
        [answer] = response.json()["responses"]
        assert answer["status"] == 403 and answer["body"]["error"]["code"] == "Authorization_RequestDenied"


def post(client, *steps):
    response = client.post("/v1.0/$batch", {"requests": list(steps)}, format="json")
    assert response.status_code == 200, response.content
    return {answer["id"]: answer for answer in response.json()["responses"]}


@pytest.fixture
def reader(api, app_token_for, api_tenant):
    return api(app_token_for(api_tenant, ["User.Read.All"]))


@pytest.fixture
def admin(api, app_token_for, api_tenant):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All", "Group.ReadWrite.All"]))


def test_each_step_answers_as_if_sent_alone(reader, api_tenant):
    ann = UserFactory(tenant=api_tenant, display_name="Ann")
    answers = post(reader, step("a", "/users?$select=displayName"), step("b", f"/users/{ann.pk}"),
                   step("c", "users/00000000-0000-0000-0000-000000000000"),
                   step("d", "/users", headers={"ConsistencyLevel": "eventual"}) | {"url": "/users?$count=true"})
    assert answers["a"]["status"] == 200 and answers["a"]["body"]["value"] == [{"id": str(ann.pk), "displayName": "Ann"}]
    assert answers["a"]["headers"]["Content-Type"].startswith("application/json")
    assert answers["b"]["body"]["displayName"] == "Ann"
    assert answers["c"]["status"] == 404 and answers["c"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert answers["d"]["body"]["@odata.count"] == 1  # the step's own ConsistencyLevel header


def test_a_step_without_permission_gets_its_own_403_and_the_others_succeed(reader, api_tenant):
    answers = post(reader, step("users", "/users"), step("groups", "/groups"),
                   step("create", "/users", "POST", body={"displayName": "X"},
                        headers={"Content-Type": "application/json"}))
    assert answers["users"]["status"] == 200
    assert answers["groups"]["status"] == 403
    assert answers["create"]["status"] == 403
    assert answers["groups"]["body"]["error"]["code"] == "Authorization_RequestDenied"


def test_a_steps_authorization_header_is_ignored(reader, api_tenant, app_token_for):
    """No escalation: a step carrying another (stronger) token still runs as the batch's caller."""
    strong = app_token_for(api_tenant, ["Group.ReadWrite.All"])
    answers = post(reader, step("g", "/groups", headers={"Authorization": f"Bearer {strong}"}))
    assert answers["g"]["status"] == 403


def test_depends_on_orders_steps_and_a_failed_dependency_is_424(admin, api_tenant):
    create = step("create", "/groups", "POST", headers={"Content-Type": "application/json"},
                  body={"displayName": "Batch group", "mailNickname": "bg", "mailEnabled": False,
                        "securityEnabled": True})
    answers = post(admin,
                   step("list", "/groups?$select=displayName", dependsOn=["create"]),
                   create,
                   step("again", "/groups", "POST", dependsOn=["create"],
                        body={"displayName": "Batch group", "mailNickname": "bg", "mailEnabled": True,
                              "securityEnabled": True}),
                   step("after-failure", "/groups", dependsOn=["again"]))
    assert answers["create"]["status"] == 201 and answers["create"]["headers"]["Location"]
    assert answers["list"]["body"]["value"] == [{"id": answers["create"]["body"]["id"], "displayName": "Batch group"}]
    assert answers["again"]["status"] == 400  # a mail-enabled group is refused
    assert answers["after-failure"]["status"] == 424
    assert Group.objects.filter(tenant=api_tenant).count() == 1


def test_the_python_sdks_depends_on_spelling_is_read(admin):
    answers = post(admin, step("2", "/users", depends_on=["1"]), step("1", "/users/not-there"))
    assert answers["2"]["status"] == 424


def test_answers_come_in_the_order_sent(reader):
    response = reader.post("/v1.0/$batch", {"requests": [step("z", "/users"), step("a", "/users")]}, format="json")
    assert [a["id"] for a in response.json()["responses"]] == ["z", "a"]


def test_more_than_twenty_steps_is_a_400(reader):
    response = reader.post("/v1.0/$batch", {"requests": [step(str(i), "/users") for i in range(21)]}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_BadRequest"


@pytest.mark.parametrize("requests", [
    [step("1", "/users"), step("1", "/users")],  # duplicate id
    [step("1", "/users", dependsOn=["9"])],  # unknown dependency
    [step("1", "/users", dependsOn=["2"]), step("2", "/users", dependsOn=["1"])],  # a cycle
    [{"id": "1", "url": "/users"}],  # no method
    [step("1", "/users", atomicityGroup="g")],
    [],
])
def test_a_malformed_batch_is_a_400(reader, requests):
    response = reader.post("/v1.0/$batch", {"requests": requests}, format="json")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("url", [
    "https://graph.microsoft.com/v1.0/users",
    "http://evil.example/v1.0/users",
    "ftp://testserver/v1.0/users",
    "http://testserver/beta/users",
    "/$batch",
    "%24batch",
    "",
])
def test_other_hosts_and_nested_batches_are_a_400_for_that_step(reader, url):
    answers = post(reader, step("bad", url), step("good", "/users"))
    assert answers["bad"]["status"] == 400, answers["bad"]
    assert answers["good"]["status"] == 200


def test_this_hosts_absolute_urls_are_taken_as_the_sdks_send_them(reader):
    answers = post(reader, step("abs", "http://testserver/v1.0/users"), step("ver", "/v1.0/users"),
                   step("x", "PATCH-ME", "BREW"))
    assert answers["abs"]["status"] == 200 and answers["ver"]["status"] == 200
    assert answers["x"]["status"] == 400


def test_queries_grow_by_a_fixed_amount_per_step_without_reauthenticating(reader, api_tenant):
    UserFactory.create_batch(3, tenant=api_tenant)

    def count(number_of_steps):
        with CaptureQueriesContext(connection) as queries:
            post(reader, *[step(str(i), "/users?$top=2") for i in range(number_of_steps)])
        return len(queries)

    with CaptureQueriesContext(connection) as alone:
        assert reader.get("/v1.0/users?$top=2").status_code == 200
    one, two, twenty = count(1), count(2), count(20)
    per_step = two - one
    assert twenty == one + 19 * per_step
    assert per_step < len(alone)  # the token is checked once per batch, not once per step


def test_non_ascii_urls_and_headers_are_answered_not_crashed(reader):
    """Found by the fuzzer: a step URL outside latin-1 once answered 500 for the whole batch."""
    answers = post(reader, step("1", "/\U0008041e\u001d."), step("2", "/users?$filter=displayName eq 'Zoë'"),
                   step("3", "/users", headers={"client-request-id": "Zoë\U0001f600"}))
    assert answers["1"]["status"] == 400
    assert answers["2"]["status"] == 200
    assert answers["3"]["status"] == 200
