"""The official msgraph-sdk against a live server: navigations, $count, $ref, manager, deleted items.
(Fixtures from test_msgraph_sdk.py: the SDK with only its base URL changed and our own token.)"""

import asyncio

import pytest
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.native_response_handler import NativeResponseHandler
from kiota_http.middleware.options import ResponseHandlerOption
from msgraph.generated.groups.item.members.ref.ref_request_builder import RefRequestBuilder as MembersRef
from msgraph.generated.groups.item.owners.ref.ref_request_builder import RefRequestBuilder as OwnersRef
from msgraph.generated.models.group_collection_response import GroupCollectionResponse
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.reference_update import ReferenceUpdate
from msgraph.generated.models.user import User as GraphUser
from msgraph.generated.users.item.check_member_groups.check_member_groups_post_request_body import (
    CheckMemberGroupsPostRequestBody,
)
from msgraph.generated.users.item.get_member_groups.get_member_groups_post_request_body import (
    GetMemberGroupsPostRequestBody,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder

from directory.models import User
from tests.api.test_msgraph_sdk import graph, tenant  # noqa: F401 (fixtures)
from tests.factories import GroupFactory, GuestFactory, UserFactory

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota_abstractions"),
]

GRAPH = "https://graph.microsoft.com/v1.0"


def eventual() -> RequestConfiguration:
    config = RequestConfiguration()
    config.headers.add("ConsistencyLevel", "eventual")
    return config


def test_transitive_member_of_and_check_and_get_member_groups(graph, tenant):  # noqa: F811
    ann = UserFactory(tenant=tenant)
    mine, other = GroupFactory(tenant=tenant), GroupFactory(tenant=tenant)
    mine.members.add(ann)
    client, _ = graph(tenant)
    me = client.users.by_user_id(str(ann.pk))

    async def calls():
        transitive = await me.transitive_member_of.get()
        cast = await me.member_of.graph_group.get()
        checked = await me.check_member_groups.post(CheckMemberGroupsPostRequestBody(
            group_ids=[str(mine.pk), str(other.pk)]))
        listed = await me.get_member_groups.post(GetMemberGroupsPostRequestBody(security_enabled_only=True))
        return transitive, cast, checked, listed

    transitive, cast, checked, listed = asyncio.run(calls())
    assert [g.id for g in transitive.value] == [str(mine.pk)]
    assert transitive.value[0].odata_type == "#microsoft.graph.group"
    assert isinstance(cast, GroupCollectionResponse) and [g.id for g in cast.value] == [str(mine.pk)]
    assert checked.value == [str(mine.pk)]
    assert listed.value == [str(mine.pk)]


def test_counts_as_the_sdk_asks_for_them(graph, tenant):  # noqa: F811
    UserFactory.create_batch(3, tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.members.add(*UserFactory.create_batch(2, tenant=tenant))
    client, _ = graph(tenant)

    async def counts():
        users = await client.users.count.get(request_configuration=eventual())
        members = await client.groups.by_group_id(str(group.pk)).members.count.get(request_configuration=eventual())
        return users, members

    assert asyncio.run(counts()) == (5, 2)


def test_manager_set_read_expanded_and_removed(graph, tenant):  # noqa: F811
    ann, boss = UserFactory(tenant=tenant), UserFactory(tenant=tenant, display_name="Boss")
    client, _ = graph(tenant)
    me = client.users.by_user_id(str(ann.pk))
    query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(expand=["manager($select=id,displayName)"])

    async def calls():
        await me.manager.ref.put(ReferenceUpdate(odata_id=f"{GRAPH}/users/{boss.pk}"))
        manager = await me.manager.get()
        expanded = await me.get(request_configuration=RequestConfiguration(query_parameters=query))
        await me.manager.ref.delete()
        return manager, expanded

    manager, expanded = asyncio.run(calls())
    assert isinstance(manager, GraphUser) and manager.id == str(boss.pk) and manager.display_name == "Boss"
    assert expanded.manager.id == str(boss.pk) and expanded.manager.display_name == "Boss"
    ann.refresh_from_db()
    assert ann.manager is None


def test_sponsors_added_and_removed_with_ref(graph, tenant):  # noqa: F811
    guest, sponsor = GuestFactory(tenant=tenant), UserFactory(tenant=tenant)
    client, _ = graph(tenant)
    sponsors = client.users.by_user_id(str(guest.pk)).sponsors

    async def calls():
        await sponsors.ref.post(ReferenceCreate(odata_id=f"{GRAPH}/directoryObjects/{sponsor.pk}"))
        listed = await sponsors.get()
        await sponsors.by_directory_object_id(str(sponsor.pk)).ref.delete()
        return listed

    listed = asyncio.run(calls())
    assert [s.id for s in listed.value] == [str(sponsor.pk)]
    assert list(guest.sponsors.all()) == []


def test_remove_a_member_by_url_as_the_sdk_sends_it(graph, tenant):  # noqa: F811
    group, ann = GroupFactory(tenant=tenant), UserFactory(tenant=tenant)
    group.members.add(ann)
    client, _ = graph(tenant)
    query = MembersRef.RefRequestBuilderDeleteQueryParameters(id=f"{GRAPH}/directoryObjects/{ann.pk}")

    asyncio.run(client.groups.by_group_id(str(group.pk)).members.ref.delete(
        request_configuration=RequestConfiguration(query_parameters=query)))
    assert list(group.members.all()) == []


def test_deleted_users_listed_restored_and_removed(graph, tenant):  # noqa: F811
    ann, bob = UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    client, _ = graph(tenant)

    async def calls():
        await client.users.by_user_id(str(ann.pk)).delete()
        await client.users.by_user_id(str(bob.pk)).delete()
        deleted = await client.directory.deleted_items.graph_user.get()
        restored = await client.directory.deleted_items.by_directory_object_id(str(ann.pk)).restore.post()
        await client.directory.deleted_items.by_directory_object_id(str(bob.pk)).delete()
        return deleted, restored

    deleted, restored = asyncio.run(calls())
    assert sorted(u.id for u in deleted.value) == sorted([str(ann.pk), str(bob.pk)])
    assert all(u.deleted_date_time is not None for u in deleted.value)
    assert restored.id == str(ann.pk)
    assert User.objects.get(pk=ann.pk).deleted_at is None
    assert not User.objects.filter(pk=bob.pk).exists()



def raw() -> RequestConfiguration:
    """The SDK's own way to get the response as sent (kiota's NativeResponseHandler)."""
    return RequestConfiguration(options=[ResponseHandlerOption(NativeResponseHandler())])


def test_references_read_as_the_sdk_asks_for_them(graph, tenant):  # noqa: F811
    """GET …/$ref through the SDK's ref builders. The answer is Graph's: {"value": [{"@odata.id": url}]}
    and {"@odata.id": url}. The SDK's generated models type these as strings (StringCollectionResponse, str),
    which Graph's own answers are not either: read them with the native response handler, as against Graph."""
    group, guest = GroupFactory(tenant=tenant), GuestFactory(tenant=tenant)
    ann, bob = UserFactory(tenant=tenant, display_name="Ann"), UserFactory(tenant=tenant, display_name="Bob")
    group.members.add(ann, bob)
    group.owners.add(ann)
    guest.sponsors.add(bob)
    guest.manager = ann
    guest.save(update_fields=["manager"])
    client, _ = graph(tenant)
    by_group, by_guest = client.groups.by_group_id(str(group.pk)), client.users.by_user_id(str(guest.pk))

    async def calls():
        typed = await by_group.members.ref.get()
        answers = [await by_group.members.ref.get(raw()), await by_group.owners.ref.get(raw()),
                   await by_guest.sponsors.ref.get(raw()), await by_guest.manager.ref.get(raw())]
        return typed, [answer.json() for answer in answers]

    typed, (members, owners, sponsors, manager) = asyncio.run(calls())
    assert len(typed.value) == 2  # parsed without an error, one entry per reference

    def ids(page):
        return [ref["@odata.id"].rsplit("/", 1)[1] for ref in page["value"]]

    assert ids(members) == [str(ann.pk), str(bob.pk)]
    assert ids(owners) == [str(ann.pk)]
    assert ids(sponsors) == [str(bob.pk)]
    assert manager["@odata.id"].endswith(f"/v1.0/users/{ann.pk}")


def test_owner_removed_by_url_and_deleted_counts_as_the_sdk_sends_them(graph, tenant):  # noqa: F811
    group, ann, bob = GroupFactory(tenant=tenant), UserFactory(tenant=tenant), UserFactory(tenant=tenant)
    group.owners.add(ann, bob)
    client, _ = graph(tenant)
    query = OwnersRef.RefRequestBuilderDeleteQueryParameters(id=f"{GRAPH}/directoryObjects/{bob.pk}")

    async def calls():
        await client.groups.by_group_id(str(group.pk)).owners.ref.delete(
            request_configuration=RequestConfiguration(query_parameters=query))
        await client.users.by_user_id(str(bob.pk)).delete()
        deleted = client.directory.deleted_items
        return (await deleted.graph_user.count.get(request_configuration=eventual()),
                await deleted.graph_group.count.get(request_configuration=eventual()))

    assert asyncio.run(calls()) == (1, 0)
    assert list(group.owners.all()) == [ann]
