"""/directory/deletedItems: deleted users for 30 days (list, get, restore, permanent delete).

Users are soft-deleted (``DELETE /users/{id}``) and can be restored for 30 days, after which the purge
sweep removes them; here the same services (``user_restore``, ``user_delete_permanently``) are
reachable through Graph's URLs. Groups are deleted for good when deleted (no restore), so
``deletedItems/microsoft.graph.group`` is always an empty collection.
"""

from django.core.exceptions import ValidationError
from rest_framework.response import Response

from .. import services
from ..models import Group, User
from ..selectors import deleted_users_visible_to
from .base import GraphView
from .bodies import Body
from .errors import bad_request, not_found
from .groups import GROUP_READ
from .navigation import CountMixin, object_id
from .odata import Prop, Resource
from .resources import GROUP, USER
from .users import USER_READ, USER_WRITE

#: A deleted user: a user with its deletedDateTime (selectable, filterable, sortable).
DELETED_USER = Resource(odata_type=USER.odata_type, default_order=USER.default_order, props=(
    *USER.props, Prop("deletedDateTime", "deleted_at", type="datetime", filter=True, sort=True)))
RESTORE = Body("microsoft.graph.restore", {}, description="No body (or an empty object).")


class _DeletedUsers(GraphView):
    resource = DELETED_USER
    context = "directory/deletedItems"
    read_permissions = USER_READ
    write_permissions = USER_WRITE

    def scoped_queryset(self):
        return deleted_users_visible_to(self.principal)

    def deleted_user(self, deleted_id) -> User:
        user = self.scoped_queryset().filter(pk=object_id(deleted_id)).first()
        if user is None:
            raise not_found(f"Resource '{str(deleted_id)[:60]}' does not exist or one of its queried "
                            "reference-property objects are not present.")
        return user

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.user", **super().represent(obj, select)}


class DeletedUsersView(_DeletedUsers):
    """GET /directory/deletedItems/microsoft.graph.user: users deleted in the last 30 days (each with its
    deletedDateTime)."""

    context = "users"
    responses = {"get": "list"}

    def get(self, request):
        return self.list_response(self.scoped_queryset())


class DeletedUsersCountView(CountMixin, _DeletedUsers):
    """GET /directory/deletedItems/microsoft.graph.user/$count"""

    def get(self, request):
        return self.count_response(self.scoped_queryset())


class DeletedGroupsView(GraphView):
    """GET /directory/deletedItems/microsoft.graph.group: always empty; a deleted group is gone for good."""

    resource = GROUP
    context = "groups"
    read_permissions = GROUP_READ
    responses = {"get": "list"}

    def get(self, request):
        return self.list_response(Group.objects.none())


class DeletedGroupsCountView(CountMixin, DeletedGroupsView):
    """GET /directory/deletedItems/microsoft.graph.group/$count: always 0 (groups are deleted for good)."""

    def get(self, request):
        return self.count_response(Group.objects.none())


class DeletedItemView(_DeletedUsers):
    """GET /directory/deletedItems/{id} (a deleted user); DELETE removes it for good (no restore)."""

    responses = {"get": "item", "delete": 204}

    def get(self, request, deleted_id):
        return self.item_response(self.deleted_user(deleted_id))

    def delete(self, request, deleted_id):
        user = self.deleted_user(deleted_id)
        try:
            services.user_delete_permanently(actor=self.principal, user=user)
        except User.DoesNotExist:  # restored or removed meanwhile
            raise not_found() from None
        return Response(status=204)


class DeletedItemUserView(_DeletedUsers):
    """GET /directory/deletedItems/{id}/microsoft.graph.user"""

    responses = {"get": "item"}

    def get(self, request, deleted_id):
        return self.item_response(self.deleted_user(deleted_id))


class RestoreDeletedItemView(_DeletedUsers):
    """POST /directory/deletedItems/{id}/restore: the user comes back as it was (its groups, sponsors,
    assignments and sign-in); 400 after the 30 days."""

    context = "directoryObjects"
    bodies = {"POST": RESTORE}
    responses = {"post": "item"}

    def post(self, request, deleted_id):
        self.body()
        user = self.deleted_user(deleted_id)
        try:
            user = services.user_restore(actor=self.principal, user=user)
        except ValidationError as exc:
            raise bad_request(" ".join(exc.messages)) from None
        return self.item_response(User.objects.get(pk=user.pk))
