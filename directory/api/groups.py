"""/groups, /groups/{id}, members and owners (with Graph's $ref add and remove)."""

import re
import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from rest_framework.response import Response

from .. import services
from ..models import Group, User
from ..selectors import group_members_visible_to, groups_visible_to, owners_visible_to, users_visible_to
from ..validators import validate_mail_nickname
from .base import GraphView
from .bodies import REFERENCE, Body, Field
from .errors import bad_request, not_found
from .resources import GROUP, USER

GROUP_READ = ("Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
              "Directory.Read.All", "Directory.ReadWrite.All")
GROUP_WRITE = ("Group.ReadWrite.All", "Directory.ReadWrite.All")
MEMBER_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")

ALREADY_EXISTS = "One or more added object references already exist for the following modified properties: '{}'."
MAX_BINDS = 20  # Graph's limit for owners@odata.bind / members@odata.bind on create

_REFERENCES = Field("list", max_length=MAX_BINDS, items=Field("string", max_length=256), schema={
    "description": "URLs of users, like https://graph.microsoft.com/v1.0/directoryObjects/{id}."})
_VISIBILITY = Field("string", nullable=True, enum=("Public", "Private"), description=(
    "Public: anyone in the tenant may join. HiddenMembership is not supported."))
_GROUP_TYPES = Field("list", max_length=10, items=Field("string", max_length=256), schema={
    "maxItems": 0, "description": "Only security groups are supported: always empty."})
CREATE_GROUP = Body(GROUP.odata_type, {
    "displayName": Field("string", required=True, max_length=256),
    "mailNickname": Field("string", required=True, max_length=64),
    "mailEnabled": Field("bool", required=True, schema={"enum": [False]}),
    "securityEnabled": Field("bool", required=True, schema={"enum": [True]}),
    "description": Field("string", nullable=True, max_length=1024),
    "groupTypes": _GROUP_TYPES,
    "visibility": _VISIBILITY,
    "isAssignableToRole": Field("bool", nullable=True, description="Role-assignable groups are not supported."),
    "owners@odata.bind": _REFERENCES,
    "members@odata.bind": _REFERENCES,
})
UPDATE_GROUP = Body(GROUP.odata_type, {
    "displayName": Field("string", max_length=256),
    "mailNickname": Field("string", max_length=64),
    "mailEnabled": Field("bool", schema={"enum": [False]}),
    "securityEnabled": Field("bool", schema={"enum": [True]}),
    "description": Field("string", nullable=True, max_length=1024),
    "groupTypes": _GROUP_TYPES,
    "visibility": _VISIBILITY,
}, update=True)

# Graph: mailNickname is ASCII 0–127 without @ () \ [] " ; : <> , and space.

# "https://graph.microsoft.com/v1.0/directoryObjects/{id}", ".../users/{id}" or the key form "users('{id}')".
_REFERENCE = re.compile(
    r"/(?P<kind>directoryObjects|users|groups|servicePrincipals)(?:/|\(')(?P<id>[^/()']{1,64})(?:'\))?/?$")
#: Graph's host, as the SDKs and Graph's documentation write reference URLs (with or without its port).
_GRAPH_NETLOCS = ("graph.microsoft.com", "graph.microsoft.com:443")


def _names_this_service_or_graph(netloc: str, request) -> bool:
    """Whether a reference URL's host is Graph's or this service's own: the request's host (what a
    ``GET …/$ref`` here answers) or SITE_URL's."""
    netloc = netloc.lower()
    own = {urlsplit(settings.SITE_URL).netloc.lower()}
    if request is not None:
        own.add(request.get_host().lower())
    return netloc in _GRAPH_NETLOCS or netloc in own


def parse_reference(value, *, request=None, name: str = "@odata.id") -> uuid.UUID:
    """The object id in a Graph reference URL (``$ref`` bodies, ``$id``, ``…@odata.bind``); anything else
    is a 400. The URL is Graph's or this service's (http or https), or a path without a host, and ends in
    ``/directoryObjects/{id}``, ``/users/{id}`` or ``/users('{id}')``; ``request`` tells this service's
    host (without it, SITE_URL's)."""
    if not isinstance(value, str) or not value or len(value) > 2048 or "\x00" in value:
        raise bad_request(f"'{name}' must be the URL of a directory object, like "
                          "https://graph.microsoft.com/v1.0/directoryObjects/{id}.")
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1/users/{id}"
        raise bad_request(f"Invalid object reference in '{name}': '{value[:100]}' is not a URL.") from None
    if (parts.scheme or parts.netloc) and (parts.scheme.lower() not in ("http", "https")
                                           or not _names_this_service_or_graph(parts.netloc, request)):
        raise bad_request(f"Invalid object reference in '{name}': '{value[:100]}'. The URL's host must be "
                          "graph.microsoft.com or this service's host.")
    match = _REFERENCE.search(parts.path)
    if match is None:
        raise bad_request(f"Invalid object reference in '{name}': '{value[:100]}'.")
    try:
        object_id = uuid.UUID(match["id"])
    except ValueError:
        raise bad_request(f"Invalid object identifier '{match['id'][:60]}'.") from None
    if match["kind"] in ("groups", "servicePrincipals"):
        raise bad_request("Only users can be added here: nested groups and service principals are not supported.")
    return object_id


def parse_bind(values, *, request, relation: str) -> list[uuid.UUID]:
    """The object ids of ``<relation>@odata.bind``, each read by :func:`parse_reference`; naming one object
    twice is Graph's 400 for a reference that already exists."""
    ids = [parse_reference(value, request=request, name=f"{relation}@odata.bind") for value in values]
    if len(set(ids)) != len(ids):
        raise bad_request(ALREADY_EXISTS.format(relation))
    return ids


def reference_from_query(request) -> str:
    """The ``@id`` (the SDK) or ``$id`` (Graph's documentation) query parameter of a DELETE …/$ref."""
    params = request.query_params
    value = params.get("@id", params.get("$id"))
    if value is None:
        raise bad_request("Name the object to remove with the query parameter $id (or @id), the URL of a "
                          "directory object.")
    return value


def _check_group_kind(body: dict) -> None:
    """We hold security groups: no mail, no Microsoft 365 ("Unified") or dynamic groups."""
    if body.get("mailEnabled") is True:
        raise bad_request("Only security groups are supported: mailEnabled must be false.")
    if body.get("securityEnabled") is False:
        raise bad_request("Only security groups are supported: securityEnabled must be true.")
    if body.get("groupTypes"):
        raise bad_request(f"Group type '{body['groupTypes'][0][:40]}' is not supported; groupTypes must be empty.")
    if body.get("isAssignableToRole"):
        raise bad_request("Role-assignable groups are not supported.")
    nickname = body.get("mailNickname")
    if nickname is not None:
        try:
            validate_mail_nickname(nickname)  # the model's rule (directory/validators.py), said in Graph's words
        except ValidationError:
            raise bad_request("Property 'mailNickname' may contain ASCII letters, digits and punctuation other than "
                              "@ ( ) \\ [ ] \" ; : < > , and no spaces.") from None
    if "displayName" in body and not body["displayName"].strip():
        raise bad_request("Property 'displayName' must not be empty.")


def _members_can_join(body: dict, default: bool) -> bool:
    value = body.get("visibility")
    return default if value is None else value == "Public"


class _GroupBase(GraphView):
    resource = GROUP
    context = "groups"
    read_permissions = GROUP_READ
    write_permissions = GROUP_WRITE

    def scoped_queryset(self):
        return groups_visible_to(self.principal)

    def owned_object(self, kwargs) -> Group | None:
        return Group.objects.filter(tenant=self.principal.tenant, **self.lookup(kwargs["group_id"])).first()

    def tenant_user(self, user_id: uuid.UUID) -> User:
        """An active user of the caller's tenant; missing and other-tenant are the same 404."""
        user = users_visible_to(self.principal).filter(pk=user_id).first()
        if user is None:
            if Group.objects.filter(tenant=self.principal.tenant, pk=user_id).exists():
                raise bad_request("Only users can be added here: nested groups are not supported.")
            raise not_found(f"Resource '{user_id}' does not exist or one of its queried reference-property objects "
                            "are not present.")
        return user


class GroupsView(_GroupBase):
    # Members hold Group.Create; group_create asks the tenant's allowedToCreateSecurityGroups.
    write_permissions = (*GROUP_WRITE, "Group.Create")
    bodies = {"POST": CREATE_GROUP}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        _check_group_kind(body)
        members_can_join = _members_can_join(body, default=False)
        owner_ids = parse_bind(body.get("owners@odata.bind", []), request=request, relation="owners")
        member_ids = parse_bind(body.get("members@odata.bind", []), request=request, relation="members")
        owners = [self.tenant_user(object_id) for object_id in owner_ids]
        members = [self.tenant_user(object_id) for object_id in member_ids]
        if not owners and self.principal.user is not None:
            owners = [self.principal.user]  # Graph: a delegated caller becomes the owner when none is named
        group = services.group_create(
            actor=self.principal, tenant=self.principal.tenant, display_name=body["displayName"].strip(),
            description=body.get("description") or "", members_can_join=members_can_join, owners=owners,
            members=members, mail_nickname=body["mailNickname"],
        )
        group = self.scoped_queryset().get(pk=group.pk)
        return self.item_response(group, status=201, headers={
            "Location": self.request.build_absolute_uri(f"/v1.0/groups/{group.pk}")})


class GroupView(_GroupBase):
    owners_may_write = True
    bodies = {"PATCH": UPDATE_GROUP}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, group_id):
        return self.item_response(self.get_object(group_id))

    def patch(self, request, group_id):
        group = self.get_object(group_id)
        body = self.body()
        _check_group_kind(body)
        changes = {}
        if "displayName" in body:
            changes["display_name"] = body["displayName"].strip()
        if "description" in body:
            changes["description"] = body["description"] or ""
        if "mailNickname" in body:
            changes["mail_nickname"] = body["mailNickname"]
        if "visibility" in body:
            changes["members_can_join"] = _members_can_join(body, default=group.members_can_join)
        if changes:
            services.group_update(actor=self.principal, group=group, changes=changes)
        return Response(status=204)

    def delete(self, request, group_id):
        # A concurrent delete that won makes the service's locked re-read raise DoesNotExist: the API's
        # exception handler answers 404 (errors.graph_exception_handler).
        services.group_delete(actor=self.principal, group=self.get_object(group_id))
        return Response(status=204)


class _GroupUsersBase(_GroupBase):
    """A group's members or owners: users, each with its @odata.type (Graph's directoryObject lists)."""

    resource = USER
    context = "directoryObjects"

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.user", **super().represent(obj, select)}

    def group(self, group_id) -> Group:
        return self.get_object(group_id, queryset=groups_visible_to(self.principal))


class GroupMembersView(_GroupUsersBase):
    responses = {"get": "list"}

    def get(self, request, group_id):
        group = self.group(group_id)
        return self.list_response(group_members_visible_to(self.principal, group))


class _GroupMemberRemove(_GroupUsersBase):
    write_permissions = MEMBER_WRITE
    owners_may_write = True

    def remove(self, group_id, member_pk) -> Response:
        group = self.group(group_id)
        user = group.members.filter(deleted_at__isnull=True, pk=member_pk).first()
        if user is None or not services.group_member_remove(actor=self.principal, group=group, user=user):
            raise not_found()
        return Response(status=204)


class GroupMemberRefView(_GroupMemberRemove):
    """GET /groups/{id}/members/$ref lists the members as references; POST adds a member; DELETE
    /groups/{id}/members/$ref?$id={url} removes one (the SDK sends the parameter as @id). Of two
    concurrent adds of one user exactly one succeeds."""

    bodies = {"POST": REFERENCE}
    responses = {"get": "refs", "post": 204, "delete": 204}

    def get(self, request, group_id):
        return self.references_response(group_members_visible_to(self.principal, self.group(group_id)))

    def post(self, request, group_id):
        group = self.group(group_id)
        user = self.tenant_user(parse_reference(self.body()["@odata.id"], request=request))
        if not services.group_member_add(actor=self.principal, group=group, user=user):
            raise bad_request(ALREADY_EXISTS.format("members"))
        return Response(status=204)

    def delete(self, request, group_id):
        return self.remove(group_id, parse_reference(reference_from_query(request), request=request, name="$id"))


class GroupMemberView(_GroupMemberRemove):
    """DELETE /groups/{id}/members/{memberId}/$ref"""

    responses = {"delete": 204}

    def delete(self, request, group_id, member_id):
        return self.remove(group_id, self.lookup(member_id)["pk"])


class GroupOwnersView(_GroupUsersBase):
    responses = {"get": "list"}

    def get(self, request, group_id):
        group = self.group(group_id)
        return self.list_response(owners_visible_to(self.principal, group))


class _GroupOwnerRemove(_GroupUsersBase):
    owners_may_write = True

    def remove(self, group_id, owner_pk) -> Response:
        group = self.group(group_id)
        user = group.owners.filter(deleted_at__isnull=True, pk=owner_pk).first()
        if user is None or not services.group_owner_remove(actor=self.principal, group=group, user=user):
            raise not_found()
        return Response(status=204)


class GroupOwnerRefView(_GroupOwnerRemove):
    """GET /groups/{id}/owners/$ref lists the owners as references; POST adds an owner; DELETE
    /groups/{id}/owners/$ref?$id={url} removes one (the SDK sends @id)."""

    bodies = {"POST": REFERENCE}
    responses = {"get": "refs", "post": 204, "delete": 204}

    def get(self, request, group_id):
        return self.references_response(owners_visible_to(self.principal, self.group(group_id)))

    def post(self, request, group_id):
        group = self.group(group_id)
        user = self.tenant_user(parse_reference(self.body()["@odata.id"], request=request))
        if not services.group_owner_add(actor=self.principal, group=group, user=user):
            raise bad_request(ALREADY_EXISTS.format("owners"))
        return Response(status=204)

    def delete(self, request, group_id):
        return self.remove(group_id, parse_reference(reference_from_query(request), request=request, name="$id"))


class GroupOwnerView(_GroupOwnerRemove):
    """DELETE /groups/{id}/owners/{ownerId}/$ref"""

    responses = {"delete": 204}

    def delete(self, request, group_id, owner_id):
        return self.remove(group_id, self.lookup(owner_id)["pk"])
