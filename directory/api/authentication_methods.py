"""/users/{id}/authentication/methods, …/softwareOathMethods and …/fido2Methods: a user's MFA methods in this tenant
(UserAuthenticationMethod.ReadWrite.All). The methods that count in a tenant are the person's account's,
registered there (directory/models/mfa.py).

Graph has no v1.0 type for backup codes; they are listed under ``methods`` with the base type
``#microsoft.graph.authenticationMethod`` (ours)."""

from rest_framework.response import Response

from .. import services
from ..models import AuthenticationMethod
from ..selectors import authentication_methods_of, users_visible_to
from .base import GraphView
from .errors import not_found
from .odata import Prop, Resource

METHOD_PERMISSIONS = ("UserAuthenticationMethod.ReadWrite.All",)
ODATA_TYPES = {AuthenticationMethod.Kind.TOTP: "#microsoft.graph.softwareOathAuthenticationMethod",
               AuthenticationMethod.Kind.BACKUP_CODES: "#microsoft.graph.authenticationMethod",
               AuthenticationMethod.Kind.PASSKEY: "#microsoft.graph.fido2AuthenticationMethod"}


def _fido2(method) -> dict:
    """fido2AuthenticationMethod's own properties (no attestation is asked for: notAttested)."""
    credential = method.webauthn_credential
    return {"displayName": method.display_name or None, "aaGuid": str(credential.aaguid) if credential else None,
            "model": None, "attestationCertificates": [], "attestationLevel": "notAttested"}

AUTHENTICATION_METHOD = Resource(
    odata_type="microsoft.graph.authenticationMethod",
    default_order=("createdDateTime",),
    props=(
        Prop("id", "pk", type="guid", filter=True),
        Prop("createdDateTime", "created_at", type="datetime", sort=True),
        Prop("secretKey", None, get=lambda m: None),  # softwareOath: never returned, as in Graph
    ),
)


class _MethodsBase(GraphView):
    resource = AUTHENTICATION_METHOD
    read_permissions = METHOD_PERMISSIONS
    write_permissions = METHOD_PERMISSIONS
    kind: str | None = None

    def user(self, user_id):
        """The user is named by its id or its userPrincipalName; a method only by its id (an "@" there is
        the same 404 as any other key that names no method)."""
        users = users_visible_to(self.principal)
        if "@" in (user_id or ""):
            user = users.filter(user_principal_name__lower=user_id.lower()).first()
            if user is None:
                raise not_found()
            return user
        return self.get_object(user_id, queryset=users)

    def methods_of(self, user):
        methods = authentication_methods_of(user).select_related("webauthn_credential")
        return methods.filter(kind=self.kind) if self.kind else methods

    def represent(self, obj, select=None) -> dict:
        body = {"@odata.type": ODATA_TYPES[obj.kind], **super().represent(obj, select)}
        if obj.kind == AuthenticationMethod.Kind.PASSKEY:
            body.pop("secretKey", None)
            extra = _fido2(obj)
            body.update({k: v for k, v in extra.items() if not select or k in select})
        return body


class AuthenticationMethodsView(_MethodsBase):
    context = "users/authentication/methods"
    responses = {"get": "list"}

    def get(self, request, user_id):
        return self.list_response(self.methods_of(self.user(user_id)))


class SoftwareOathMethodsView(_MethodsBase):
    context = "users/authentication/softwareOathMethods"
    responses = {"get": "list"}
    kind = AuthenticationMethod.Kind.TOTP

    def get(self, request, user_id):
        return self.list_response(self.methods_of(self.user(user_id)))


class SoftwareOathMethodView(_MethodsBase):
    context = "users/authentication/softwareOathMethods"
    responses = {"get": "item", "delete": 204}
    kind = AuthenticationMethod.Kind.TOTP

    def method(self, user, method_id):
        return self.get_object(method_id, queryset=self.methods_of(user))

    def get(self, request, user_id, method_id):
        return self.item_response(self.method(self.user(user_id), method_id))

    def delete(self, request, user_id, method_id):
        user = self.user(user_id)
        method = self.method(user, method_id)
        services.authentication_method_delete(actor=self.principal, user=user, method=method)
        return Response(status=204)


class Fido2MethodsView(_MethodsBase):
    context = "users/authentication/fido2Methods"
    responses = {"get": "list"}
    kind = AuthenticationMethod.Kind.PASSKEY

    def get(self, request, user_id):
        return self.list_response(self.methods_of(self.user(user_id)))


class Fido2MethodView(SoftwareOathMethodView):
    context = "users/authentication/fido2Methods"
    kind = AuthenticationMethod.Kind.PASSKEY
