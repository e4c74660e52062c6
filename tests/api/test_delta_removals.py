"""/users/delta and /groups/delta: a permanent delete is reported as removed, the page size holds across
the links, and $deltatoken=latest starts a sync from now on. Also: a permanently deleted user's address
can be used again (DELETE /directory/deletedItems/{id})."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db


def backdate(*objects):
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    for obj in objects:
        type(obj).objects.filter(pk=obj.pk).update(updated_at=long_ago)


def pages_of(client, url, params=None):
    """Follow @odata.nextLink to the end: (the pages' values, the deltaLink)."""
    pages = []
    response = client.get(url, params or {})
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        pages.append(body["value"])
        if "@odata.nextLink" not in body:
            return pages, body["@odata.deltaLink"]
        response = client.get(body["@odata.nextLink"])


@pytest.fixture
def admin(api, app_token_for, api_tenant):
    return api(app_token_for(api_tenant, ["User.ReadWrite.All", "Group.ReadWrite.All"]))


MEMBER = {"accountEnabled": True, "displayName": "Ref", "mailNickname": "refec76",
          "userPrincipalName": "refec76@tailwind.example", "passwordProfile": {"password": "A-long-passphrase-1"}}


def test_a_user_deleted_for_good_can_be_created_again_as_a_member_with_a_password(admin):
    created = admin.post("/v1.0/users", MEMBER, format="json")
    assert created.status_code == 201, created.content
    user_id = created.json()["id"]
    assert admin.delete(f"/v1.0/users/{user_id}").status_code == 204
    assert admin.delete(f"/v1.0/directory/deletedItems/{user_id}").status_code == 204
    again = admin.post("/v1.0/users", MEMBER, format="json")
    assert again.status_code == 201, again.content
    assert again.json()["id"] != user_id


def test_a_user_deleted_for_good_is_reported_removed_by_users_delta(admin, api_tenant):
    ann = UserFactory(tenant=api_tenant, display_name="Ann")
    backdate(ann)
    _pages, delta_link = pages_of(admin, "/v1.0/users/delta")

    assert admin.delete(f"/v1.0/users/{ann.pk}").status_code == 204
    pages, delta_link = pages_of(admin, delta_link)
    assert pages == [[{"id": str(ann.pk), "@removed": {"reason": "changed"}}]]  # restorable

    assert admin.delete(f"/v1.0/directory/deletedItems/{ann.pk}").status_code == 204
    pages, _next = pages_of(admin, delta_link)
    assert {"id": str(ann.pk), "@removed": {"reason": "deleted"}} in pages[0]


@pytest.mark.parametrize("resource", ["users", "groups"])
def test_the_page_size_holds_across_next_links_and_the_delta_link(admin, api_tenant, resource):
    factory = UserFactory if resource == "users" else GroupFactory
    objects = [factory(tenant=api_tenant) for _ in range(5)]
    backdate(*objects)
    pages, delta_link = pages_of(admin, f"/v1.0/{resource}/delta", {"$top": "2"})
    assert [len(p) for p in pages] == [2, 2, 1]

    for obj in objects:
        factory._meta.model.objects.filter(pk=obj.pk).update(updated_at=timezone.now())
    pages, _next = pages_of(admin, delta_link)
    assert [len(p) for p in pages] == [2, 2, 1]


def test_a_top_sent_with_a_skiptoken_changes_the_page_size_from_there_on(admin, api_tenant):
    backdate(*(UserFactory(tenant=api_tenant) for _ in range(5)))
    first = admin.get("/v1.0/users/delta", {"$top": "1"}).json()
    assert len(first["value"]) == 1
    token = parse_qs(urlsplit(first["@odata.nextLink"]).query)["$skiptoken"][0]
    rest = admin.get("/v1.0/users/delta", {"$skiptoken": token, "$top": "4"}).json()
    assert len(rest["value"]) == 4 and "@odata.deltaLink" in rest


@pytest.mark.parametrize("resource", ["users", "groups"])
def test_deltatoken_latest_returns_no_objects_and_a_delta_link_from_now_on(admin, api_tenant, resource):
    factory = UserFactory if resource == "users" else GroupFactory
    old = factory(tenant=api_tenant, display_name="Old")
    backdate(old)
    response = admin.get(f"/v1.0/{resource}/delta", {"$deltatoken": "latest"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["value"] == [] and "@odata.nextLink" not in body

    new = factory(tenant=api_tenant, display_name="New")
    pages, _next = pages_of(admin, body["@odata.deltaLink"])
    assert [item["id"] for page in pages for item in page] == [str(new.pk)]


def test_deltatoken_latest_takes_a_select_that_the_delta_link_keeps(admin, api_tenant):
    backdate(UserFactory(tenant=api_tenant))
    body = admin.get("/v1.0/users/delta", {"$deltatoken": "latest", "$select": "displayName"}).json()
    assert body["value"] == []
    new = UserFactory(tenant=api_tenant, display_name="New")
    pages, _next = pages_of(admin, body["@odata.deltaLink"])
    assert pages == [[{"id": str(new.pk), "displayName": "New"}]]


def test_a_deltatoken_other_than_latest_still_refuses_select(admin, api_tenant):
    _pages, delta_link = pages_of(admin, "/v1.0/users/delta")
    response = admin.get(delta_link + "&$select=mail")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"
