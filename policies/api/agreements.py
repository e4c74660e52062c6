"""Terms of use over Graph: ``/identityGovernance/termsOfUse/agreements`` (Graph ``agreement``) and each
agreement's ``acceptances``. Reading needs ``Agreement.Read.All``, writing ``Agreement.ReadWrite.All``."""

from __future__ import annotations

from rest_framework.response import Response

from directory.api.base import GraphView
from directory.api.bodies import Body, Field
from directory.api.odata import Prop, Resource

from .. import services
from ..conditional_access import PolicyInvalid
from ..models import Agreement, AgreementAcceptance
from .conditional_access import _invalid

READ = ("Agreement.Read.All", "Agreement.ReadWrite.All")
WRITE = ("Agreement.ReadWrite.All",)


def _days(agreement: Agreement) -> str | None:
    days = agreement.user_reaccept_required_frequency_days
    return f"P{days}D" if days else None


def _file(f) -> dict:
    return {"id": str(f.pk), "language": f.language, "fileName": f.file_name or f"{f.language}.txt",
            "displayName": f.display_name or None, "isDefault": f.is_default, "isMajorVersion": False,
            "createdDateTime": f.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "fileData": None}


AGREEMENT = Resource(
    odata_type="microsoft.graph.agreement",
    props=(
        Prop("id", "id", type="guid", filter=True),
        Prop("displayName", "display_name", filter=True),
        Prop("isViewingBeforeAcceptanceRequired", "is_viewing_before_acceptance_required", type="bool"),
        Prop("isPerDeviceAcceptanceRequired", None, type="bool", get=lambda a: False),
        Prop("userReacceptRequiredFrequency", None, get=_days),
        Prop("termsExpiration", None, type="object", get=lambda a: None),
        Prop("files", None, type="collection", default=False, get=lambda a: [_file(f) for f in a.files.all()]),
    ),
)

_FILES = Field("list", max_length=50, schema={"items": {"type": "object", "properties": {
    "language": {"type": "string"}, "fileName": {"type": "string"}, "displayName": {"type": "string"},
    "isDefault": {"type": "boolean"}, "fileData": {"type": "object", "properties": {"data": {
        "type": "string", "format": "byte", "description": "The PDF, base64"}}},
    "text": {"type": "string", "description": "This deployment's own: the terms as text instead of a PDF."}}}})
AGREEMENT_FIELDS = {
    "displayName": Field("string", max_length=256),
    "isViewingBeforeAcceptanceRequired": Field("bool"),
    "isPerDeviceAcceptanceRequired": Field("bool"),
    "userReacceptRequiredFrequency": Field("string", nullable=True, max_length=10),
    "termsExpiration": Field("object", nullable=True),
    "files": _FILES,
}
CREATE_AGREEMENT = Body(AGREEMENT.odata_type, AGREEMENT_FIELDS)
UPDATE_AGREEMENT = Body(AGREEMENT.odata_type, AGREEMENT_FIELDS, update=True)

ACCEPTANCE = Resource(
    odata_type="microsoft.graph.agreementAcceptance",
    props=(
        Prop("id", "id", type="guid"),
        Prop("agreementId", "agreement_id", type="guid"),
        Prop("agreementFileId", "agreement_file_id", type="guid"),
        Prop("agreementVersion", None, get=lambda a: str(a.agreement_version)),
        Prop("userId", "user_id", type="guid", filter=True),
        Prop("userDisplayName", "user__display_name"),
        Prop("userPrincipalName", "user__user_principal_name"),
        Prop("userEmail", "user__mail"),
        Prop("state", "state", type="enum", filter=True, choices=tuple(AgreementAcceptance.State.values)),
        Prop("recordedDateTime", "recorded_at", type="datetime"),
        Prop("expirationDateTime", "expires_at", type="datetime"),
        Prop("deviceDisplayName", None, get=lambda a: None),
        Prop("deviceId", None, get=lambda a: None),
        Prop("deviceOSType", None, get=lambda a: None),
        Prop("deviceOSVersion", None, get=lambda a: None),
        Prop("ipAddress", "ip_address", default=False),  # this deployment's own: where it was accepted from
    ),
)


class _AgreementBase(GraphView):
    resource = AGREEMENT
    context = "identityGovernance/termsOfUse/agreements"
    read_permissions = READ
    write_permissions = WRITE
    count_needs_eventual = False

    def scoped_queryset(self):
        return Agreement.objects.filter(tenant=self.principal.tenant).prefetch_related("files")


class AgreementsView(_AgreementBase):
    """The tenant's terms of use (at most 40)."""

    bodies = {"POST": CREATE_AGREEMENT}
    responses = {"get": "list", "post": (201, "item")}

    def get(self, request):
        return self.list_response(self.scoped_queryset())

    def post(self, request):
        try:
            agreement = services.agreement_create(actor=self.principal, tenant=self.principal.tenant,
                                                  data=self.body())
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return self.item_response(self.scoped_queryset().get(pk=agreement.pk), status=201, headers={
            "Location": self.request.build_absolute_uri(f"/v1.0/{self.context}/{agreement.pk}")})


class AgreementView(_AgreementBase):
    bodies = {"PATCH": UPDATE_AGREEMENT}
    responses = {"get": "item", "patch": 204, "delete": 204}

    def get(self, request, agreement_id):
        return self.item_response(self.get_object(agreement_id))

    def patch(self, request, agreement_id):
        agreement = self.get_object(agreement_id)
        try:
            services.agreement_update(actor=self.principal, agreement=agreement, changes=self.body())
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)

    def delete(self, request, agreement_id):
        try:
            services.agreement_delete(actor=self.principal, agreement=self.get_object(agreement_id))
        except PolicyInvalid as exc:
            raise _invalid(exc) from None
        return Response(status=204)


class AgreementAcceptancesView(GraphView):
    """Who accepted (or declined) which version of the terms, when and until when."""

    resource = ACCEPTANCE
    context = "identityGovernance/termsOfUse/agreements/acceptances"
    read_permissions = READ
    count_needs_eventual = False
    responses = {"get": "list"}

    def get(self, request, agreement_id):
        agreement = self.get_object(agreement_id, Agreement.objects.filter(tenant=self.principal.tenant))
        return self.list_response(AgreementAcceptance.objects.filter(agreement=agreement)
                                  .select_related("user"))
