"""Reference URLs (``@odata.id``, ``$id``, ``…@odata.bind``) and batch step URLs that are malformed, name
a foreign host or repeat an object are Graph 400s, never a 500; an object deleted between a view's lookup
and its service's locked re-read is Graph's 404."""

from datetime import timedelta

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone

from directory import services
from directory.api.errors import graph_exception_handler
from directory.api.groups import ALREADY_EXISTS
from directory.models import AuditEvent, Group, User
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

GRAPH = "https://graph.microsoft.com/v1.0"
#: urlsplit raises ValueError on it ("Invalid IPv6 URL").
BROKEN = "http://[::1/users/{}"
BROKEN_QUERY = "http://%5B::1/users/{}"


@pytest.fixture
def admin_api(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["Directory.ReadWrite.All", "User.ReadWrite.All", "Group.ReadWrite.All"]))


def assert_graph_error(response, status: int, code: str = "Request_BadRequest") -> str:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    return error["message"]


def group_body(**extra) -> dict:
    return {"displayName": "Falcon", "mailNickname": "falcon", "mailEnabled": False, "securityEnabled": True,
            **extra}


# --- malformed URLs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method,path", [
    ("post", "/v1.0/groups/{group}/members/$ref"),
    ("post", "/v1.0/groups/{group}/owners/$ref"),
    ("put", "/v1.0/users/{user}/manager/$ref"),
    ("post", "/v1.0/users/{user}/sponsors/$ref"),
])
def test_a_malformed_reference_url_in_a_ref_body_is_400(api_tenant, admin_api, method, path):
    group, user, other = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    url = path.format(group=group.pk, user=user.pk)
    response = getattr(admin_api, method)(url, {"@odata.id": BROKEN.format(other.pk)}, format="json")
    assert "Invalid object reference" in assert_graph_error(response, 400)


@pytest.mark.parametrize("relation,path", [
    ("members", "/v1.0/groups/{group}/members/$ref"),
    ("owners", "/v1.0/groups/{group}/owners/$ref"),
    ("sponsors", "/v1.0/users/{user}/sponsors/$ref"),
])
def test_a_malformed_reference_url_in_a_ref_delete_is_400_and_removes_nothing(api_tenant, admin_api, relation, path):
    group, user, other = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    holder = group if relation != "sponsors" else user
    getattr(holder, relation).add(other)
    url = path.format(group=group.pk, user=user.pk) + "?$id=" + BROKEN_QUERY.format(other.pk)
    assert_graph_error(admin_api.delete(url), 400)
    assert getattr(holder, relation).filter(pk=other.pk).exists()


@pytest.mark.parametrize("bind", ["members@odata.bind", "owners@odata.bind"])
def test_a_malformed_bind_url_is_400_and_creates_no_group(api_tenant, admin_api, bind):
    other = UserFactory(tenant=api_tenant)
    response = admin_api.post("/v1.0/groups", group_body(**{bind: [BROKEN.format(other.pk)]}), format="json")
    assert bind in assert_graph_error(response, 400)
    assert not Group.objects.filter(tenant=api_tenant).exists()


def test_a_batch_step_with_a_malformed_url_gets_its_own_400(api_tenant, admin_api):
    response = admin_api.post("/v1.0/$batch", {"requests": [
        {"id": "1", "method": "GET", "url": "http://[::1/v1.0/users"},
        {"id": "2", "method": "GET", "url": "/users"},
    ]}, format="json")
    assert response.status_code == 200, response.content
    answers = {answer["id"]: answer for answer in response.json()["responses"]}
    assert answers["1"]["status"] == 400
    assert answers["1"]["body"]["error"]["code"] == "Request_BadRequest"
    assert answers["2"]["status"] == 200


def test_a_batch_step_with_an_empty_id_rejects_the_batch(api_tenant, admin_api):
    response = admin_api.post("/v1.0/$batch", {"requests": [{"id": "", "method": "GET", "url": "/users"}]},
                              format="json")
    assert "id" in assert_graph_error(response, 400)


# --- hosts and duplicates: one rule for $ref bodies, $id and @odata.bind ----------------------------


def test_a_bind_url_of_a_foreign_host_is_400_and_creates_no_group(api_tenant, admin_api):
    other = UserFactory(tenant=api_tenant)
    response = admin_api.post("/v1.0/groups", group_body(**{
        "members@odata.bind": [f"https://evil.example/v1.0/users/{other.pk}"]}), format="json")
    assert "host" in assert_graph_error(response, 400)
    assert not Group.objects.filter(tenant=api_tenant).exists()


@pytest.mark.parametrize("url", ["https://evil.example/v1.0/users/{}", "ftp://graph.microsoft.com/v1.0/users/{}",
                                 "https://graph.microsoft.com.evil.example/v1.0/users/{}"])
def test_a_ref_url_of_a_foreign_host_or_scheme_is_400(api_tenant, admin_api, url):
    group, other = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    response = admin_api.post(f"/v1.0/groups/{group.pk}/members/$ref", {"@odata.id": url.format(other.pk)},
                              format="json")
    assert_graph_error(response, 400)
    assert not group.members.exists()


@pytest.mark.parametrize("url", [GRAPH + "/directoryObjects/{}", "https://GRAPH.microsoft.com:443/v1.0/users/{}",
                                 "http://testserver/v1.0/users/{}", "/v1.0/users/{}"])
def test_graphs_and_this_services_own_urls_are_accepted_by_ref_and_bind(api_tenant, admin_api, url):
    ann, bob = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    response = admin_api.post("/v1.0/groups", group_body(**{"members@odata.bind": [url.format(ann.pk)]}),
                              format="json")
    assert response.status_code == 201, response.content
    group = Group.objects.get(pk=response.json()["id"])
    response = admin_api.post(f"/v1.0/groups/{group.pk}/members/$ref", {"@odata.id": url.format(bob.pk)},
                              format="json")
    assert response.status_code == 204, response.content
    assert set(group.members.values_list("pk", flat=True)) == {ann.pk, bob.pk}


@pytest.mark.parametrize("bind,relation", [("members@odata.bind", "members"), ("owners@odata.bind", "owners")])
def test_the_same_user_twice_in_one_bind_list_is_400_and_creates_no_group(api_tenant, admin_api, bind, relation):
    ann = UserFactory(tenant=api_tenant)
    response = admin_api.post("/v1.0/groups", group_body(**{
        bind: [f"{GRAPH}/directoryObjects/{ann.pk}", f"{GRAPH}/users('{ann.pk}')"]}), format="json")
    assert assert_graph_error(response, 400) == ALREADY_EXISTS.format(relation)
    assert not Group.objects.filter(tenant=api_tenant).exists()


# --- an object deleted between the view's lookup and the service's locked re-read: 404 -----------------


def deleting_first(monkeypatch, name: str, model, key: str):
    """Make ``services.<name>`` find its object gone, as when a concurrent delete commits between the
    view's lookup and the service's ``select_for_update().get()``."""
    original = getattr(services, name)

    def run(**kwargs):
        model.objects.filter(pk=kwargs[key].pk).delete()
        return original(**kwargs)

    monkeypatch.setattr(services, name, run)


def test_patching_a_group_deleted_meanwhile_is_404(api_tenant, admin_api, monkeypatch):
    group = GroupFactory(tenant=api_tenant)
    deleting_first(monkeypatch, "group_update", Group, "group")
    response = admin_api.patch(f"/v1.0/groups/{group.pk}", {"displayName": "Renamed"}, format="json")
    assert_graph_error(response, 404, "Request_ResourceNotFound")


@pytest.mark.parametrize("method,service,body", [
    ("patch", "user_update", {"displayName": "Renamed"}),
    ("delete", "user_delete", None),
])
def test_writing_a_user_deleted_meanwhile_is_404(api_tenant, admin_api, monkeypatch, method, service, body):
    user = UserFactory(tenant=api_tenant)
    deleting_first(monkeypatch, service, User, "user")
    response = getattr(admin_api, method)(f"/v1.0/users/{user.pk}", body, format="json")
    assert_graph_error(response, 404, "Request_ResourceNotFound")


def test_restoring_a_user_removed_for_good_meanwhile_is_404(api_tenant, admin_api, monkeypatch):
    user = UserFactory(tenant=api_tenant, deleted_at=timezone.now() - timedelta(days=1))
    deleting_first(monkeypatch, "user_restore", User, "user")
    response = admin_api.post(f"/v1.0/directory/deletedItems/{user.pk}/restore", {}, format="json")
    assert_graph_error(response, 404, "Request_ResourceNotFound")
    assert not AuditEvent.objects.filter(activity_display_name="Restore user").exists()


def test_an_object_missing_in_a_service_is_graphs_404_wherever_it_escapes():
    response = graph_exception_handler(ObjectDoesNotExist("gone"), {"request": None})
    assert response.status_code == 404
    assert response.data["error"]["code"] == "Request_ResourceNotFound"


def test_a_malformed_access_package_reference_is_a_400_not_a_500(api_tenant, app_token_for, api):
    from directory.actors import Actor
    from entitlements import services as em_services
    from tests.api.test_entitlement_management import B, em

    data = em(api_tenant)
    other = em_services.package_create(actor=Actor.operator(), catalog=data["catalog"], display_name="Other")
    client = api(app_token_for(api_tenant, ["EntitlementManagement.ReadWrite.All"]))

    response = client.post(f"/v1.0/{B}accessPackages/{data['package'].pk}/incompatibleAccessPackages/$ref",
                           {"@odata.id": f"http://[::1/v1.0/{B}accessPackages/{other.pk}"}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "Request_BadRequest"
    assert not data["package"].incompatible_with.exists()
