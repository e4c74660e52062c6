"""/organization (the caller's tenant: its domains and branding)."""

import re

from ..models import Branding, Tenant
from .base import GraphView
from .errors import not_found
from .resources import BRANDING, DEFAULT_BRANDING_ID, ORGANIZATION, branding_id

# Graph: User.Read (delegated) and Organization.Read.All (application) are the least privileged; the
# Directory.* permissions are higher ones. User.Read.All is accepted as Graph does for branding.
ORGANIZATION_READ = ("Organization.Read.All", "User.Read", "User.Read.All", "Directory.Read.All",
                     "Directory.ReadWrite.All")

_LOCALE = re.compile(r"^[A-Za-z0-9-]{1,10}$")


class _OrganizationBase(GraphView):
    resource = ORGANIZATION
    context = "organization"
    read_permissions = ORGANIZATION_READ
    count_needs_eventual = False

    def scoped_queryset(self):
        return Tenant.objects.filter(pk=self.principal.tenant.pk).prefetch_related("domains")


class OrganizationsView(_OrganizationBase):
    responses = {"get": "list"}

    def get(self, request):
        return self.list_response(self.scoped_queryset())


class OrganizationView(_OrganizationBase):
    responses = {"get": "item"}

    def get(self, request, org_id):
        return self.item_response(self.get_object(org_id))


class _BrandingBase(_OrganizationBase):
    resource = BRANDING

    def tenant(self, org_id) -> Tenant:
        tenant = self.get_object(org_id)
        self.context = f"organization('{tenant.pk}')/branding"
        return tenant

    def brandings(self, tenant: Tenant):
        return Branding.objects.filter(tenant=tenant).select_related("tenant")

    def localization(self, tenant: Tenant, localization_id: str) -> Branding:
        if localization_id == DEFAULT_BRANDING_ID:
            locale = ""
        elif _LOCALE.match(localization_id or ""):
            locale = localization_id
        else:
            raise not_found()
        branding = self.brandings(tenant).filter(locale__iexact=locale).first()
        if branding is None:
            raise not_found()
        return branding

    def represent(self, obj, select=None):
        data = super().represent(obj, select)
        return {**data, "id": branding_id(obj)}  # the locale ("0" for the default), never the row's key


class BrandingView(_BrandingBase):
    """The default branding; with ``Accept-Language`` naming an existing localization, that one."""

    responses = {"get": "item"}

    def get(self, request, org_id):
        tenant = self.tenant(org_id)
        language = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0].strip()
        branding = None
        if language and language.lower() not in (DEFAULT_BRANDING_ID, "default", "*") and _LOCALE.match(language):
            branding = self.brandings(tenant).filter(locale__iexact=language).first()
        if branding is None:
            branding = self.brandings(tenant).filter(locale="").first()
        if branding is None:
            raise not_found("The organization has no default branding.")
        return self.item_response(branding)


class BrandingLocalizationsView(_BrandingBase):
    responses = {"get": "list"}

    def get(self, request, org_id):
        tenant = self.tenant(org_id)
        self.context += "/localizations"
        return self.list_response(self.brandings(tenant))


class BrandingLocalizationView(_BrandingBase):
    responses = {"get": "item"}

    def get(self, request, org_id, localization_id):
        tenant = self.tenant(org_id)
        self.context += "/localizations"
        return self.item_response(self.localization(tenant, localization_id))
