"""Navigations of users and groups beyond their plain lists.

- ``$count`` on /users, /groups and on navigations, answered as text/plain (the SDK's count builders
  send ``Accept: text/plain``), with ``ConsistencyLevel: eventual`` required as Graph does;
- OData casts (``memberOf/microsoft.graph.group``, ``members/microsoft.graph.user``; the SDK writes
  them ``graph.group``/``graph.user`` and both are accepted);
- transitiveMemberOf / transitiveMembers: groups do not nest here, so transitive = direct, in
  Graph's shapes;
- checkMemberGroups, checkMemberObjects, getMemberGroups, getMemberObjects (POST actions);
- sponsors/$ref (add, remove), manager (GET) and manager/$ref (GET, PUT, DELETE);
- users/{id}/appRoleAssignments.
"""

import uuid

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from .. import services
from ..models import AppRoleAssignment, Group, User
from ..selectors import applications_visible_to, group_members_visible_to, groups_visible_to, users_visible_to
from . import odata
from .applications import ASSIGNMENT_READ
from .bodies import REFERENCE, Body, Field
from .errors import bad_request, not_found, unsupported_query
from .groups import ALREADY_EXISTS, GROUP_READ, GroupMembersView, _GroupBase, parse_reference, reference_from_query
from .resources import APP_ROLE_ASSIGNMENT, GROUP, with_principal
from .users import USER_READ, USER_WRITE, UserMemberOfView, _UserBase

#: The two spellings of a cast: Graph's documentation writes the namespace out, the SDK shortens it.
USER_CASTS = ("microsoft.graph.user", "graph.user")
GROUP_CASTS = ("microsoft.graph.group", "graph.group")



def object_id(value: str) -> uuid.UUID:
    """An object id from the URL; anything but a GUID names no object (404)."""
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise not_found() from None


# --- $count ------------------------------------------------------------------------------------


class PlainTextRenderer(BaseRenderer):
    media_type = "text/plain"
    format = "txt"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return str(data).encode()


class CountMixin:
    """GET …/$count: the number as text/plain. ``$filter`` applies; ``ConsistencyLevel: eventual`` is
    required (Graph's advanced query); errors are JSON whatever was asked for."""

    renderer_classes = [JSONRenderer, PlainTextRenderer]
    responses = {"get": "count"}

    def count_response(self, queryset):
        params = self.request.query_params
        unsupported = sorted(k for k in params if k.startswith("$") and k != "$filter")
        if unsupported:
            raise unsupported_query(f"The query option {unsupported[0][:40]} is not supported with $count.")
        if self.request.headers.get("ConsistencyLevel", "").lower() != "eventual":
            raise unsupported_query("$count needs the request header ConsistencyLevel: eventual.")
        if "$filter" in params:
            queryset = queryset.filter(odata.parse_filter(self.resource, params["$filter"]))
        return HttpResponse(str(queryset.count()), content_type="text/plain; charset=utf-8")

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response):  # an error: Graph's JSON error body, never text
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
            response.renderer_context = self.get_renderer_context()
        return response


class UsersCountView(CountMixin, _UserBase):
    """GET /users/$count"""

    def get(self, request):
        return self.count_response(users_visible_to(self.principal))


class GroupsCountView(CountMixin, _GroupBase):
    """GET /groups/$count"""

    def get(self, request):
        return self.count_response(groups_visible_to(self.principal))


# --- a user's groups: memberOf casts, transitiveMemberOf, counts ----------------------------------


class _UserGroups(UserMemberOfView):
    def user_groups(self, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        return groups_visible_to(self.principal).filter(members=user)

    def get(self, request, user_id):
        return self.list_response(self.user_groups(user_id))


class UserMemberOfGroupsView(_UserGroups):
    """GET /users/{id}/memberOf/microsoft.graph.group: the user's groups (every directory object it is a
    member of is a group here)."""

    context = "groups"


class UserTransitiveMemberOfView(_UserGroups):
    """GET /users/{id}/transitiveMemberOf: groups do not nest here, so these are the user's groups."""


class UserTransitiveMemberOfGroupsView(UserMemberOfGroupsView):
    """GET /users/{id}/transitiveMemberOf/microsoft.graph.group"""


class UserGroupsCountView(CountMixin, _UserGroups):
    """GET /users/{id}/memberOf/$count (and transitiveMemberOf, and their casts)."""

    def get(self, request, user_id):
        return self.count_response(self.user_groups(user_id))


class UserSponsorsCountView(CountMixin, _UserBase):
    """GET /users/{id}/sponsors/$count"""

    def get(self, request, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        return self.count_response(users_visible_to(self.principal).filter(sponsored_users=user))


# --- a group's members: casts, transitiveMembers, counts --------------------------------------------


class GroupMembersUsersView(GroupMembersView):
    """GET /groups/{id}/members/microsoft.graph.user: the members that are users (all of them here)."""

    context = "users"


class GroupTransitiveMembersView(GroupMembersView):
    """GET /groups/{id}/transitiveMembers: groups do not nest here, so these are the direct members."""


class GroupTransitiveMembersUsersView(GroupMembersUsersView):
    """GET /groups/{id}/transitiveMembers/microsoft.graph.user"""


class GroupMembersGroupsView(GroupMembersView):
    """GET /groups/{id}/members/microsoft.graph.group (and transitiveMembers'): the members that are groups. Groups
    do not nest here, so always an empty collection of groups, as Graph answers for a group without nested ones;
    the group must still be one the caller may read (404 otherwise)."""

    resource = GROUP
    context = "groups"

    def get(self, request, group_id):
        self.group(group_id)
        return self.list_response(Group.objects.none())


class GroupMembersGroupsCountView(CountMixin, GroupMembersGroupsView):
    """GET /groups/{id}/members/microsoft.graph.group/$count: 0 (groups do not nest here)."""

    def get(self, request, group_id):
        self.group(group_id)
        return self.count_response(Group.objects.none())


class GroupMembersCountView(CountMixin, GroupMembersView):
    """GET /groups/{id}/members/$count (and transitiveMembers, and their casts)."""

    def get(self, request, group_id):
        return self.count_response(group_members_visible_to(self.principal, self.group(group_id)))


# --- checkMemberGroups, checkMemberObjects, getMemberGroups, getMemberObjects ----------------------

MAX_CHECK_IDS = 20  # Graph: up to 20 ids per checkMemberGroups / checkMemberObjects

_IDS = Field("list", required=True, max_length=MAX_CHECK_IDS,
             items=Field("string", max_length=64, schema={"format": "uuid"}))
CHECK_MEMBER_GROUPS = Body("microsoft.graph.checkMemberGroups", {"groupIds": _IDS})
CHECK_MEMBER_OBJECTS = Body("microsoft.graph.checkMemberObjects", {"ids": _IDS})
GET_MEMBER_GROUPS = Body("microsoft.graph.getMemberGroups", {
    "securityEnabledOnly": Field("bool", required=True, description=(
        "Every group here is a security group: true and false give the same answer."))})


def _guids(values: list[str], name: str) -> list[uuid.UUID]:
    result = []
    for value in values:
        try:
            result.append(uuid.UUID(value))
        except ValueError:
            raise bad_request(f"Invalid GUID '{value[:60]}' in '{name}'.") from None
    return result


class _MemberCheck(_UserBase):
    """A POST action that reads: the read permissions allow it."""

    write_permissions = (*USER_READ, *GROUP_READ)
    responses = {"post": "strings"}

    def groups_of(self, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        return groups_visible_to(self.principal).filter(members=user)

    def strings(self, ids) -> Response:
        return Response({"@odata.context": self.request.build_absolute_uri("/v1.0/$metadata#Collection(Edm.String)"),
                         "value": [str(i) for i in ids]})


class CheckMemberGroupsView(_MemberCheck):
    """POST /users/{id}/checkMemberGroups: which of the given groups the user is a member of."""

    bodies = {"POST": CHECK_MEMBER_GROUPS}
    field = "groupIds"

    def post(self, request, user_id):
        wanted = _guids(self.body()[self.field], self.field)
        found = set(self.groups_of(user_id).filter(pk__in=wanted).values_list("pk", flat=True))
        return self.strings(dict.fromkeys(i for i in wanted if i in found))


class CheckMemberObjectsView(CheckMemberGroupsView):
    """POST /users/{id}/checkMemberObjects: which of the given groups (the only directory objects a user
    is a member of here) the user is a member of."""

    bodies = {"POST": CHECK_MEMBER_OBJECTS}
    field = "ids"


class GetMemberGroupsView(_MemberCheck):
    """POST /users/{id}/getMemberGroups: the ids of the user's groups (groups do not nest, so the direct
    ones)."""

    bodies = {"POST": GET_MEMBER_GROUPS}

    def post(self, request, user_id):
        self.body()
        return self.strings(self.groups_of(user_id).order_by("id").values_list("pk", flat=True))


class GetMemberObjectsView(GetMemberGroupsView):
    """POST /users/{id}/getMemberObjects: the ids of the user's groups (directory roles and
    administrative units are not listed)."""


# --- sponsors/$ref -----------------------------------------------------------------------------------


class _UserWrite(_UserBase):
    write_permissions = USER_WRITE

    def user(self, user_id) -> User:
        return self.get_object(user_id, queryset=users_visible_to(self.principal))

    def referenced_user(self, value, *, name: str = "@odata.id") -> User:
        object_id = parse_reference(value, request=self.request, name=name)
        user = users_visible_to(self.principal).filter(pk=object_id).first()
        if user is None:
            if Group.objects.filter(tenant=self.principal.tenant, pk=object_id).exists():
                raise bad_request("Only users can be referenced here: groups are not supported.")
            raise not_found(f"Resource '{object_id}' does not exist or one of its queried reference-property "
                            "objects are not present.")
        return user

    def run(self, service, **kwargs) -> bool:
        # A user deleted meanwhile makes the service raise User.DoesNotExist: the API's exception handler
        # answers 404 (errors.graph_exception_handler).
        return service(actor=self.principal, **kwargs)


class _SponsorRemove(_UserWrite):
    def remove(self, user_id, sponsor_id) -> Response:
        user = self.user(user_id)
        sponsor = user.sponsors.filter(deleted_at__isnull=True, pk=sponsor_id).first()
        if sponsor is None or not self.run(services.user_sponsor_remove, user=user, sponsor=sponsor):
            raise not_found()
        return Response(status=204)


class UserSponsorsRefView(_SponsorRemove):
    """GET /users/{id}/sponsors/$ref lists the sponsors as references; POST adds a sponsor (a user);
    DELETE …/sponsors/$ref?$id={url} removes one (the SDK sends @id)."""

    bodies = {"POST": REFERENCE}
    responses = {"get": "refs", "post": 204, "delete": 204}

    def get(self, request, user_id):
        return self.references_response(users_visible_to(self.principal).filter(sponsored_users=self.user(user_id)))

    def post(self, request, user_id):
        user = self.user(user_id)
        sponsor = self.referenced_user(self.body()["@odata.id"])
        if not self.run(services.user_sponsor_add, user=user, sponsor=sponsor):
            raise bad_request(ALREADY_EXISTS.format("sponsors"))
        return Response(status=204)

    def delete(self, request, user_id):
        return self.remove(user_id, parse_reference(reference_from_query(request), request=request, name="$id"))


class UserSponsorRefView(_SponsorRemove):
    """DELETE /users/{id}/sponsors/{sponsorId}/$ref"""

    responses = {"delete": 204}

    def delete(self, request, user_id, sponsor_id):
        return self.remove(user_id, object_id(sponsor_id))


# --- manager --------------------------------------------------------------------------------------


def _manager(view: _UserBase, user_id) -> User:
    """The manager of the user ``user_id`` names, as the caller may see it; 404 when it has none (or the
    manager is deleted or hidden from the caller)."""
    user = view.get_object(user_id, queryset=users_visible_to(view.principal))
    manager = (users_visible_to(view.principal).filter(pk=user.manager_id).first()
               if user.manager_id else None)
    if manager is None:
        raise not_found("Resource 'manager' does not exist or one of its queried reference-property objects "
                        "are not present.")
    return manager


class UserManagerView(_UserBase):
    """GET /users/{id}/manager: the user's manager (404 when it has none)."""

    context = "directoryObjects"
    responses = {"get": "item"}

    def manager(self, user_id) -> User:
        return _manager(self, user_id)

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.user", **super().represent(obj, select)}

    def get(self, request, user_id):
        return self.item_response(self.manager(user_id))


class UserManagerRefView(_UserWrite):
    """GET /users/{id}/manager/$ref names the manager ({"@odata.id": url}; 404 when none); PUT sets it
    ({"@odata.id": url}); DELETE removes it."""

    bodies = {"PUT": REFERENCE}
    responses = {"get": "ref", "put": 204, "delete": 204}

    def get(self, request, user_id):
        return self.reference_response(_manager(self, user_id))

    def put(self, request, user_id):
        user = self.user(user_id)
        manager = self.referenced_user(self.body()["@odata.id"])
        try:
            self.run(services.user_set_manager, user=user, manager=manager)
        except ValidationError as exc:
            raise bad_request(" ".join(exc.messages)) from None
        return Response(status=204)

    def delete(self, request, user_id):
        user = self.user(user_id)
        if user.manager_id is None or not self.run(services.user_set_manager, user=user, manager=None):
            raise not_found("Resource 'manager' does not exist or one of its queried reference-property objects "
                            "are not present.")
        return Response(status=204)


# --- appRoleAssignments -----------------------------------------------------------------------------


class UserAppRoleAssignmentsView(_UserBase):
    """GET /users/{id}/appRoleAssignments: the applications assigned to the user directly (not through
    its groups), as Graph's appRoleAssignment."""

    resource = APP_ROLE_ASSIGNMENT
    read_permissions = (*USER_READ, *ASSIGNMENT_READ)
    count_needs_eventual = False
    responses = {"get": "list"}

    def get(self, request, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        self.context = f"users('{user.pk}')/appRoleAssignments"
        assignments = AppRoleAssignment.objects.filter(
            tenant=self.principal.tenant, user=user, application__in=applications_visible_to(self.principal))
        return self.list_response(with_principal(assignments))


__all__ = ["GROUP_CASTS", "USER_CASTS"]
