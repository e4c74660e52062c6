"""Identity providers over Graph: ``/identity/identityProviders`` (GET, POST) and ``/{id}`` (GET, PATCH,
DELETE). Reading needs ``IdentityProvider.Read.All``, writing ``IdentityProvider.ReadWrite.All``.

Types (``@odata.type``):

- ``#microsoft.graph.socialIdentityProvider`` with ``identityProviderType`` ``Google`` or ``Microsoft``
  (an Entra ID tenant as identity provider; ours: its ``tenantId``), ``clientId``, ``clientSecret``;
- ``#microsoft.graph.oidcIdentityProvider`` (v1.0): ``wellKnownEndpoint``, ``issuer`` (optional: the
  discovery document's), ``clientId``, ``clientAuthentication`` (``#microsoft.graph.oidcClientSecretAuthentication``
  with ``clientSecret``), ``scope``, ``responseType`` ("code" only); the older
  ``#microsoft.graph.openIdConnectIdentityProvider`` (``metadataUrl``, ``clientSecret``) is accepted too;
- ``#microsoft.graph.partnerDeploymentIdentityProvider`` (this platform's own: another deployment of it, by
  its ``issuer``);
- ``#microsoft.graph.builtInIdentityProvider`` ``EmailOTP`` (read-only; switched in the external
  collaboration settings), listed first.

Each but the built-in one takes ``domains`` (``["proseware.com"]`` or Graph's ``[{"id": …}]``): the e-mail
domains whose guests redeem with it (Google: gmail.com and googlemail.com when none). ``clientSecret`` is
write-only: reads return ``"******"``, as Graph does.
"""

from __future__ import annotations

from rest_framework.response import Response

from directory.api.base import GraphView
from directory.api.bodies import Body, Field
from directory.api.errors import GraphError, bad_request
from directory.api.odata import Prop, Resource

from .. import services
from ..models import IdentityProvider
from ..selectors import collaboration_settings_for
from ..services import IdentityProviderInvalid

READ = ("IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All")
WRITE = ("IdentityProvider.ReadWrite.All",)
SOCIAL = "#microsoft.graph.socialIdentityProvider"
OIDC = "#microsoft.graph.oidcIdentityProvider"
OPEN_ID_CONNECT = "#microsoft.graph.openIdConnectIdentityProvider"  # beta/B2C's shape, accepted on input
CLIENT_SECRET_AUTH = "#microsoft.graph.oidcClientSecretAuthentication"
DEPLOYMENT = "#microsoft.graph.partnerDeploymentIdentityProvider"
BUILT_IN = "#microsoft.graph.builtInIdentityProvider"
EMAIL_OTP_ID = "EmailOtpSignup-OAUTH"
SOCIAL_KINDS = {"Google": IdentityProvider.Kind.GOOGLE, "Microsoft": IdentityProvider.Kind.MICROSOFT}
HIDDEN_SECRET = "******"

RESOURCE = Resource(
    odata_type="microsoft.graph.identityProviderBase",
    # id: a GUID, or the built-in provider's name (EmailOtpSignup-OAUTH), as in Graph.
    props=(Prop("id", None, get=lambda idp: str(idp.pk)),
           Prop("displayName", "display_name", filter=True, sort=True)),
    default_order=("displayName",),
)

_READ_ONLY = {name: Field("any", schema={"type": "string", "description": "Read-only; ignored."})
              for name in ("id", "@odata.type")}
FIELDS = {
    "displayName": Field("string", max_length=256),
    "identityProviderType": Field("string", enum=("Google", "Microsoft", "OpenIDConnect", "PartnerDeployment",
                                                  "unknownFutureValue")),
    "clientId": Field("string", max_length=256),
    "clientSecret": Field("string", max_length=512),
    "metadataUrl": Field("string", max_length=500),
    "wellKnownEndpoint": Field("string", max_length=500),
    "clientAuthentication": Field("object", schema={"type": "object", "additionalProperties": True, "description": (
        f"{CLIENT_SECRET_AUTH} with clientSecret")}),
    "issuer": Field("string", max_length=500),
    "tenantId": Field("string", max_length=64),
    "scope": Field("string", max_length=256),
    "responseType": Field("string", enum=("code",)),
    "domains": Field("list", max_length=50, schema={"items": {}}),
    **_READ_ONLY,
}
DESCRIPTION = (f"Send @odata.type {SOCIAL} (identityProviderType Google or Microsoft, clientSecret), {OIDC} "
               f"(wellKnownEndpoint, clientAuthentication) or {DEPLOYMENT} (issuer, clientSecret), with displayName, "
               "clientId and domains.")
CREATE = Body(RESOURCE.odata_type, FIELDS, description=DESCRIPTION)
UPDATE = Body(RESOURCE.odata_type, FIELDS, update=True)
GRAPH_NAMES = {"displayName": "display_name", "clientId": "client_id", "clientSecret": "client_secret",
               "metadataUrl": "metadata_url", "wellKnownEndpoint": "metadata_url", "issuer": "issuer",
               "tenantId": "microsoft_tenant", "scope": "scope", "domains": "domains"}
ALLOWED = {
    IdentityProvider.Kind.GOOGLE: {"displayName", "clientId", "clientSecret", "domains"},
    IdentityProvider.Kind.MICROSOFT: {"displayName", "clientId", "clientSecret", "domains", "tenantId"},
    IdentityProvider.Kind.OIDC: {"displayName", "clientId", "clientSecret", "domains", "metadataUrl", "scope",
                                 "responseType", "wellKnownEndpoint", "clientAuthentication", "issuer"},
    IdentityProvider.Kind.DEPLOYMENT: {"displayName", "clientId", "clientSecret", "domains", "issuer"},
}


def odata_type_of(idp: IdentityProvider) -> str:
    return {IdentityProvider.Kind.OIDC: OIDC, IdentityProvider.Kind.DEPLOYMENT: DEPLOYMENT}.get(idp.kind, SOCIAL)


def represent_identity_provider(idp: IdentityProvider) -> dict:
    data = {"@odata.type": odata_type_of(idp), "id": str(idp.pk), "displayName": idp.display_name,
            "clientId": idp.client_id, "domains": list(idp.domains or [])}
    if idp.kind != IdentityProvider.Kind.OIDC:
        data["clientSecret"] = HIDDEN_SECRET
    if idp.kind in SOCIAL_KINDS.values():
        data["identityProviderType"] = "Google" if idp.kind == IdentityProvider.Kind.GOOGLE else "Microsoft"
        if idp.kind == IdentityProvider.Kind.MICROSOFT:
            data["tenantId"] = idp.microsoft_tenant or "organizations"
    elif idp.kind == IdentityProvider.Kind.OIDC:
        data.update(issuer=idp.issuer or None, wellKnownEndpoint=idp.metadata_url, scope=idp.scope,
                    responseType="code",
                    clientAuthentication={"@odata.type": CLIENT_SECRET_AUTH, "clientSecret": HIDDEN_SECRET})
    else:
        data.update(identityProviderType="PartnerDeployment", issuer=idp.issuer)
    return data


def email_otp_provider(tenant) -> dict:
    enabled = collaboration_settings_for(tenant).email_otp_enabled
    return {"@odata.type": BUILT_IN, "id": EMAIL_OTP_ID, "displayName": "Email One Time Passcode",
            "identityProviderType": "EmailOTP", "state": "enabled" if enabled else "disabled"}


def _kind_of(body: dict) -> str:
    odata_type = body.get("@odata.type")
    if odata_type == SOCIAL:
        kind = SOCIAL_KINDS.get(body.get("identityProviderType"))
        if kind is None:
            raise bad_request("identityProviderType must be Google or Microsoft for a socialIdentityProvider.")
        return kind
    if odata_type in (OIDC, OPEN_ID_CONNECT):
        return IdentityProvider.Kind.OIDC
    if odata_type == DEPLOYMENT:
        return IdentityProvider.Kind.DEPLOYMENT
    if odata_type == BUILT_IN:
        raise bad_request("Built-in identity providers cannot be added; e-mail one-time passcode is switched in "
                          "the external collaboration settings.")
    raise bad_request(DESCRIPTION)


def _fields(body: dict, kind: str) -> dict:
    wrong = sorted(set(body) - ALLOWED[kind] - {"id", "@odata.type", "identityProviderType"})
    if wrong:
        raise bad_request(f"Property '{wrong[0][:60]}' does not exist on this type of identity provider.",
                          code="BadRequest")
    fields = {GRAPH_NAMES[k]: v for k, v in body.items() if k in GRAPH_NAMES}
    if "clientAuthentication" in body:
        auth = body["clientAuthentication"]
        if (not isinstance(auth, dict) or auth.get("@odata.type", CLIENT_SECRET_AUTH) != CLIENT_SECRET_AUTH
                or set(auth) - {"@odata.type", "clientSecret"}):
            raise bad_request(f"clientAuthentication must be {CLIENT_SECRET_AUTH} with clientSecret (private key "
                              "JWT authentication is not supported).", code="BadRequest")
        fields["client_secret"] = auth.get("clientSecret")
    return fields


def _invalid(exc: IdentityProviderInvalid) -> GraphError:
    if exc.code == "conflict":
        return GraphError(409, "Request_BadRequest", exc.messages[0])
    return bad_request(exc.messages[0])


class _Base(GraphView):
    resource = RESOURCE
    context = "identity/identityProviders"
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False
    prop_schemas = {}

    def scoped_queryset(self):
        return IdentityProvider.objects.filter(tenant=self.principal.tenant)

    def represent(self, obj, select=None) -> dict:
        data = represent_identity_provider(obj)
        if select:
            return {"@odata.type": data["@odata.type"], "id": data["id"],
                    **{p.name: data.get(p.name) for p in select}}
        return data


class IdentityProvidersView(_Base):
    """The organization's identity providers, the built-in e-mail one-time passcode first."""

    bodies = {"POST": CREATE}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        response = self.list_response(self.scoped_queryset())
        params = request.query_params
        if not any(k in params for k in ("$filter", "$skiptoken", "$select")):
            response.data["value"] = [email_otp_provider(self.principal.tenant), *response.data["value"]]
            if "@odata.count" in response.data:
                response.data["@odata.count"] += 1
        return response

    def post(self, request):
        body = self.body()
        raw = self.request.data if isinstance(self.request.data, dict) else {}
        kind = _kind_of({**body, "@odata.type": raw.get("@odata.type")})
        fields = _fields(body, kind)
        missing = [n for n in ("displayName", "clientId") if n not in body]
        if "clientSecret" not in body and "clientAuthentication" not in body:
            missing.append("clientSecret")
        if missing:
            raise bad_request(f"Property '{missing[0]}' is required.", code="BadRequest")
        try:
            idp = services.identity_provider_create(actor=self.principal, tenant=self.principal.tenant, kind=kind,
                                                    **fields)
        except IdentityProviderInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(idp, status=201, headers={"Location": self.request.build_absolute_uri(
            f"/v1.0/identity/identityProviders/{idp.pk}")})


class IdentityProviderView(_Base):
    bodies = {"PATCH": UPDATE}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def _builtin(self, provider_id: str) -> bool:
        return provider_id == EMAIL_OTP_ID

    def get(self, request, provider_id):
        if self._builtin(provider_id):
            return Response(email_otp_provider(self.principal.tenant))
        return self.item_response(self.get_object(provider_id))

    def patch(self, request, provider_id):
        if self._builtin(provider_id):
            raise bad_request("The built-in e-mail one-time passcode provider is switched in the external "
                              "collaboration settings (authenticationMethodsPolicy).")
        idp = self.get_object(provider_id)
        body = self.body()
        raw = self.request.data if isinstance(self.request.data, dict) else {}
        sent = OIDC if raw.get("@odata.type") == OPEN_ID_CONNECT else raw.get("@odata.type")
        if sent and sent != odata_type_of(idp):
            raise bad_request("An identity provider's type cannot be changed.", code="BadRequest")
        body.pop("identityProviderType", None)
        try:
            services.identity_provider_update(actor=self.principal, identity_provider=idp, **_fields(body, idp.kind))
        except IdentityProviderInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)

    def delete(self, request, provider_id):
        if self._builtin(provider_id):
            raise bad_request("The built-in e-mail one-time passcode provider cannot be deleted.")
        services.identity_provider_delete(actor=self.principal, identity_provider=self.get_object(provider_id))
        return Response(status=204)

