"""SAML/WS-Fed domain federation over Graph: ``/directory/federationConfigurations`` with the type cast
``microsoft.graph.samlOrWsFedExternalDomainFederation`` (also written ``graph.…``, as Graph's docs and
the SDKs do), and the untyped collection the SDKs post to: list and create; one configuration by id
(GET, PATCH, DELETE, with or without the cast); its ``domains`` (GET, POST; DELETE one). Reading needs
``IdentityProvider.Read.All``, writing ``IdentityProvider.ReadWrite.All``; the rules are the services'
(``policies.domain_federation``), their message is the 400's (409 when a domain or issuer is already
federated)."""

from __future__ import annotations

from rest_framework.response import Response

from directory.api.base import GraphView
from directory.api.bodies import Body, Field
from directory.api.errors import GraphError, bad_request, not_found
from directory.api.odata import Prop, Resource

from .. import services
from ..domain_federation import FederationInvalid
from ..models import ExternalDomainFederation, ExternalDomainName

READ = ("IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All")
WRITE = ("IdentityProvider.ReadWrite.All",)
TYPE = "microsoft.graph.samlOrWsFedExternalDomainFederation"
CASTS = (TYPE, "graph.samlOrWsFedExternalDomainFederation")
BASE = "directory/federationConfigurations"

FEDERATION = Resource(
    odata_type=TYPE,
    props=(
        Prop("id", "id", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True),
        Prop("issuerUri", "issuer_uri", filter=True),
        Prop("metadataExchangeUri", "metadata_exchange_uri", blank_is_null=True),
        Prop("passiveSignInUri", "passive_sign_in_uri"),
        Prop("preferredAuthenticationProtocol", "preferred_authentication_protocol", type="enum",
             choices=tuple(ExternalDomainFederation.Protocol.values)),
        Prop("signingCertificate", "signing_certificate"),
    ),
)
DOMAIN = Resource(odata_type="microsoft.graph.externalDomainName",
                  props=(Prop("id", "name", filter=True, sort=True),), default_order=("id",), id_field="name")

_DOMAIN_BODY = Body("microsoft.graph.externalDomainName", {"id": Field("string", required=True, max_length=253)})
_FIELDS = {
    "displayName": Field("string", max_length=256),
    "issuerUri": Field("string", max_length=1000),
    "metadataExchangeUri": Field("string", nullable=True, max_length=1000),
    "passiveSignInUri": Field("string", max_length=1000),
    "preferredAuthenticationProtocol": Field("string", enum=tuple(ExternalDomainFederation.Protocol.values)),
    "signingCertificate": Field("string", max_length=16_000, description="The public part of the IdP's token-"
                                                                        "signing certificate, base64 DER"),
}
CREATE = Body(TYPE, {**{k: Field(f.kind, required=k in services.domain_federation.REQUIRED, nullable=f.nullable,
                                 max_length=f.max_length, enum=f.enum, description=f.description)
                        for k, f in _FIELDS.items()},
                     "domains": Field("list", required=True, max_length=1000, items=_DOMAIN_BODY)})
UPDATE = Body(TYPE, _FIELDS, update=True)


def _invalid(exc: FederationInvalid) -> GraphError:
    if exc.code == "conflict":
        return GraphError(409, "Request_BadRequest", exc.messages[0])
    return bad_request(exc.messages[0])


class _Base(GraphView):
    resource = FEDERATION
    context = f"{BASE}/{TYPE}"
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False

    def scoped_queryset(self):
        return ExternalDomainFederation.objects.filter(tenant=self.principal.tenant)

    def represent(self, obj, select=None) -> dict:
        return {"@odata.type": f"#{TYPE}", **super().represent(obj, select)}


class FederationsView(_Base):
    """The tenant's SAML/WS-Fed identity providers (each with one or more partner domains)."""

    bodies = {"POST": CREATE}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        # On the untyped collection (the SDKs' federationConfigurations.post) the body names its type.
        kind = request.data.get("@odata.type") if isinstance(request.data, dict) else None
        if kind is not None and str(kind).lstrip("#") != TYPE:
            raise bad_request(f"Only {TYPE} configurations can be created here.")
        body = self.body()
        domains = body.pop("domains")
        try:
            federation = services.saml_federation_create(
                actor=self.principal, tenant=self.principal.tenant,
                data={k: v for k, v in body.items() if v is not None}, domains=domains)
        except FederationInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(federation, status=201, headers={
            "Location": self.request.build_absolute_uri(f"/v1.0/{BASE}/{federation.pk}")})


class FederationView(_Base):
    """One configuration (``federationConfigurations/{id}`` is Graph's identityProviderBase by id; here
    every one is a samlOrWsFedExternalDomainFederation)."""

    bodies = {"PATCH": UPDATE}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, federation_id):
        return self.item_response(self.get_object(federation_id))

    def patch(self, request, federation_id):
        federation = self.get_object(federation_id)
        changes = self.body()
        if "metadataExchangeUri" in changes and changes["metadataExchangeUri"] is None:
            changes["metadataExchangeUri"] = ""
        try:
            services.saml_federation_update(actor=self.principal, federation=federation, changes=changes)
        except FederationInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)

    def delete(self, request, federation_id):
        services.saml_federation_delete(actor=self.principal, federation=self.get_object(federation_id))
        return Response(status=204)


class DomainsView(_Base):
    """The domains whose users sign in at this configuration's IdP."""

    resource = DOMAIN
    context = f"{BASE}/{TYPE}/domains"
    bodies = {"POST": _DOMAIN_BODY}
    responses = {"get": "list", "post": (201, "item")}

    def represent(self, obj, select=None) -> dict:
        return GraphView.represent(self, obj, select)

    def _federation(self, federation_id):
        return self.get_object(federation_id, ExternalDomainFederation.objects.filter(tenant=self.principal.tenant))

    def get(self, request, federation_id):
        return self.list_response(ExternalDomainName.objects.filter(federation=self._federation(federation_id)))

    def post(self, request, federation_id):
        federation = self._federation(federation_id)
        try:
            domain = services.saml_federation_domain_add(actor=self.principal, federation=federation,
                                                         name=self.body()["id"])
        except FederationInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(domain, status=201)


class DomainView(_Base):
    resource = DOMAIN
    context = f"{BASE}/{TYPE}/domains"
    responses = {"delete": 204}

    def delete(self, request, federation_id, domain_id):
        federation = self.get_object(federation_id,
                                     ExternalDomainFederation.objects.filter(tenant=self.principal.tenant))
        domain = ExternalDomainName.objects.filter(federation=federation, name=str(domain_id).lower()[:253]).first()
        if domain is None:
            raise not_found()
        try:
            services.saml_federation_domain_remove(actor=self.principal, domain=domain)
        except FederationInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)


def urlpatterns():
    from django.urls import path

    patterns = []
    for cast in CASTS:
        patterns += [
            path(f"{BASE}/{cast}", FederationsView.as_view()),
            path(f"{BASE}/{cast}/<str:federation_id>", FederationView.as_view()),
            path(f"{BASE}/{cast}/<str:federation_id>/domains", DomainsView.as_view()),
            path(f"{BASE}/<str:federation_id>/{cast}/domains", DomainsView.as_view()),
        ]
    patterns += [
        # Graph's identityProviderBase collection: every configuration here is a SAML/WS-Fed one.
        path(BASE, FederationsView.as_view()),
        path(f"{BASE}/<str:federation_id>", FederationView.as_view()),
        path(f"{BASE}/<str:federation_id>/{TYPE}/domains/<str:domain_id>", DomainView.as_view()),
    ]
    return patterns
