from django.db import transaction
from rest_framework.response import Response

from .. import services
from ..models import Group, User
from ..selectors import groups_visible_to, users_visible_to
from .base import GraphView, read_body
from .errors import bad_request
from .resources import GROUP, USER

USER_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
USER_WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")

PATCHABLE = {
    "displayName": ("string", False, 256, "display_name"),
    "givenName": ("string?", False, 64, "given_name"),
    "surname": ("string?", False, 64, "surname"),
    "jobTitle": ("string?", False, 128, "job_title"),
    "companyName": ("string?", False, 64, "company_name"),
    "mail": ("string?", False, 254, "mail"),
    "otherMails": ("list:string", False, 20, "other_mails"),
    "accountEnabled": ("bool", False, None, "account_enabled"),
    "userType": ("string", False, 8, "user_type"),
}
CREATE = {
    "accountEnabled": ("bool", True, None),
    "displayName": ("string", True, 256),
    "mailNickname": ("string", True, 64),
    "userPrincipalName": ("string", True, 256),
    "passwordProfile": ("object", True, None),
    "givenName": ("string?", False, 64),
    "surname": ("string?", False, 64),
    "jobTitle": ("string?", False, 128),
    "companyName": ("string?", False, 64),
    "mail": ("string?", False, 254),
}


class _UserBase(GraphView):
    resource = USER
    context = "users"
    read_permissions = USER_READ
    write_permissions = USER_WRITE

    def scoped_queryset(self):
        return users_visible_to(self.principal).prefetch_related("identities")

    def lookup(self, object_id: str) -> dict:
        if "@" in (object_id or ""):
            return {"user_principal_name__iexact": object_id}
        return super().lookup(object_id)


class UsersView(_UserBase):
    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        body = read_body(request.data, CREATE, odata_type=USER.odata_type)
        profile = body["passwordProfile"]
        password = profile.get("password")
        if not isinstance(password, str) or not password or len(password) > 256:
            raise bad_request("passwordProfile.password is required.")
        extra = {
            "given_name": body.get("givenName") or "", "surname": body.get("surname") or "",
            "job_title": body.get("jobTitle") or "", "company_name": body.get("companyName") or "",
            "mail": body.get("mail") or "",
        }
        user = services.user_create(
            actor=self.principal, tenant=self.principal.tenant, display_name=body["displayName"],
            user_principal_name=body["userPrincipalName"], account_enabled=body["accountEnabled"],
            creation_type="", password=password, **extra,
        )
        user = self.scoped_queryset().get(pk=user.pk)
        return self.item_response(user, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/users/{user.pk}")})


class UserView(_UserBase):
    def get(self, request, user_id):
        return self.item_response(self.get_object(user_id))

    def patch(self, request, user_id):
        user = self.get_object(user_id)
        spec = {name: value[:3] for name, value in PATCHABLE.items()}
        body = read_body(request.data, spec, odata_type=USER.odata_type, partial=True)
        if not body:
            raise bad_request("The request body names no property to update.")
        if "userType" in body and body["userType"] not in User.UserType.values:
            raise bad_request("userType must be Member or Guest.")
        changes = {PATCHABLE[name][3]: ("" if value is None else value) for name, value in body.items()}
        services.user_update(actor=self.principal, user=user, changes=changes)
        return Response(status=204)

    def delete(self, request, user_id):
        user = self.get_object(user_id)
        services.user_delete(actor=self.principal, user=user)
        return Response(status=204)


class MeView(_UserBase):
    read_permissions = ("User.Read", *USER_READ)

    def get(self, request):
        if self.principal.user is None:
            raise bad_request("/me request is only valid with delegated authentication flow.")
        return self.item_response(self.scoped_queryset().get(pk=self.principal.user.pk))


class UserMemberOfView(_UserBase):
    resource = GROUP
    context = "directoryObjects"

    def get(self, request, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        groups = groups_visible_to(self.principal).filter(members=user)
        return self.list_response(groups)

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.group", **super().represent(obj, select)}


class UserSponsorsView(_UserBase):
    context = "directoryObjects"

    def get(self, request, user_id):
        user = self.get_object(user_id, queryset=users_visible_to(self.principal))
        sponsors = users_visible_to(self.principal).filter(sponsored_users=user).prefetch_related("identities")
        return self.list_response(sponsors)

    def represent(self, obj, select=None):
        return {"@odata.type": "#microsoft.graph.user", **super().represent(obj, select)}


__all__ = ["Group", "MeView", "UserMemberOfView", "UserSponsorsView", "UserView", "UsersView", "transaction"]
