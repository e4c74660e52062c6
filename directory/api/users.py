import uuid

from django.db import transaction
from rest_framework.response import Response

from .. import services
from ..models import Group, User
from ..selectors import groups_visible_to, users_visible_to
from .base import GraphView
from .bodies import Body, Field
from .errors import bad_request, denied, not_found
from .resources import GROUP, USER

USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
USER_WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")

_PROFILE = {
    "givenName": Field("string", nullable=True, max_length=64),
    "surname": Field("string", nullable=True, max_length=64),
    "jobTitle": Field("string", nullable=True, max_length=128),
    "companyName": Field("string", nullable=True, max_length=64),
    "mail": Field("string", nullable=True, max_length=254, schema={"format": "email"}),
    # Profile properties (the model checks the values: directory.validators).
    "department": Field("string", nullable=True, max_length=64),
    "officeLocation": Field("string", nullable=True, max_length=128),
    "usageLocation": Field("string", nullable=True, max_length=2, schema={"example": "US"},
                           description="Two-letter country code (ISO 3166)."),
    "mobilePhone": Field("string", nullable=True, max_length=64),
    "businessPhones": Field("list", max_length=1, items=Field("string", max_length=64),
                            description="At most one number, as in Graph; [] clears it."),
    "preferredLanguage": Field("string", nullable=True, max_length=35, schema={"example": "en-US"}),
    "employeeId": Field("string", nullable=True, max_length=16),
    "employeeType": Field("string", nullable=True, max_length=64),
    "city": Field("string", nullable=True, max_length=128),
    "country": Field("string", nullable=True, max_length=128),
}
PASSWORD_PROFILE = Body("microsoft.graph.passwordProfile", {
    "password": Field("string", required=True, max_length=256, schema={"minLength": 1}),
    "forceChangePasswordNextSignIn": Field("bool", nullable=True),
    "forceChangePasswordNextSignInWithMfa": Field("bool", nullable=True),
})
CREATE_USER = Body(USER.odata_type, {
    "accountEnabled": Field("bool", required=True),
    "displayName": Field("string", required=True, max_length=256),
    "mailNickname": Field("string", required=True, max_length=64),
    "userPrincipalName": Field("string", required=True, max_length=256),
    "passwordProfile": Field("object", required=True, nested=PASSWORD_PROFILE),
    **_PROFILE,
})
# The properties a PATCH may change, each stored in its USER prop's field.
UPDATE_USER = Body(USER.odata_type, {
    "displayName": Field("string", max_length=256),
    **_PROFILE,
    "mailNickname": Field("string", max_length=64),
    "otherMails": Field("list", max_length=20, items=Field("string", max_length=256)),
    "accountEnabled": Field("bool"),
    "userType": Field("string", enum=tuple(User.UserType.values)),
}, update=True)

class _UserBase(GraphView):
    resource = USER
    context = "users"
    read_permissions = USER_READ
    write_permissions = USER_WRITE

    def scoped_queryset(self):
        return users_visible_to(self.principal)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Graph: signInActivity is returned only with $select, and only to callers who may read the
        # sign-in log (AuditLog.Read.All); others get 403 for asking.
        asked = f"{request.query_params.get('$select') or ''} {request.query_params.get('$filter') or ''}"
        if (request.method == "GET" and "signinactivity" in asked.lower()
                and not self.principal.has_any(("AuditLog.Read.All",))):
            raise denied("Calling principal does not have required MSGraph permissions AuditLog.Read.All")

    def lookup(self, object_id: str) -> dict:
        """A user is named by its id or its userPrincipalName: /users/{id}, /users/{upn}, and the key
        form /users('{upn}') (rewritten to the path form by directory.api.middleware)."""
        if "@" in (object_id or ""):
            # lower(upn) = lower(id), the (tenant, lower(user_principal_name)) unique index (9d; UPNs are ASCII)
            return {"user_principal_name__lower": object_id.lower()}
        return super().lookup(object_id)


class UsersView(_UserBase):
    bodies = {"POST": CREATE_USER}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = self.body()
        password = body["passwordProfile"]["password"]
        if not password:
            raise bad_request("passwordProfile.password is required.")
        extra = {USER.prop(name).field: ("" if value is None else value)
                 for name, value in body.items() if name in _PROFILE}
        profile = body["passwordProfile"]
        user = services.user_create(
            actor=self.principal, tenant=self.principal.tenant, display_name=body["displayName"],
            user_principal_name=body["userPrincipalName"], account_enabled=body["accountEnabled"],
            creation_type="", mail_nickname=body["mailNickname"], password=password,
            force_password_change=bool(profile.get("forceChangePasswordNextSignIn")),
            force_password_change_with_mfa=bool(profile.get("forceChangePasswordNextSignInWithMfa")), **extra,
        )
        user = self.scoped_queryset().get(pk=user.pk)
        return self.item_response(user, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/users/{user.pk}")})


class UserView(_UserBase):
    bodies = {"PATCH": UPDATE_USER}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, user_id):
        return self.item_response(self.get_object(user_id))

    def patch(self, request, user_id):
        user = self.get_object(user_id)
        changes = {USER.prop(name).field: ("" if value is None else value) for name, value in self.body().items()}
        services.user_update(actor=self.principal, user=user, changes=changes)
        return Response(status=204)

    def delete(self, request, user_id):
        user = self.get_object(user_id)
        services.user_delete(actor=self.principal, user=user)
        return Response(status=204)


class MeView(_UserBase):
    responses = {"get": "item"}
    read_permissions = ("User.Read", *USER_READ)

    def get(self, request):
        if self.principal.user is None:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        return self.item_response(self.scoped_queryset().get(pk=self.principal.user.pk))


class UserMemberOfView(_UserBase):
    resource = GROUP
    context = "directoryObjects"
    responses = {"get": "list"}

    def get(self, request, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        groups = groups_visible_to(self.principal).filter(members=user)
        return self.list_response(groups)

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.group", **super().represent(obj, select)}


class UserMemberOfItemView(UserMemberOfView):
    """GET /users/{id}/memberOf/{groupId} (the SDKs' ``member_of.by_directory_object_id``): the group, when the user
    is a direct member of it that the caller may read; 404 otherwise."""

    responses = {"get": "item"}

    def get(self, request, user_id, group_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        try:
            group_pk = uuid.UUID(group_id)
        except ValueError:
            raise not_found() from None
        group = groups_visible_to(self.principal).filter(members=user, pk=group_pk).first()
        if group is None:
            raise not_found()
        return self.item_response(group)


class UserSponsorsView(_UserBase):
    context = "directoryObjects"
    responses = {"get": "list"}

    def get(self, request, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        sponsors = users_visible_to(self.principal).filter(sponsored_users=user)
        return self.list_response(sponsors)

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.user", **super().represent(obj, select)}


__all__ = ["Group", "MeView", "UserMemberOfView", "UserSponsorsView", "UserView", "UsersView", "transaction"]
