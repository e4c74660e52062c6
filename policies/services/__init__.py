"""Writes to the policies, one module per family (re-exported here)."""
from .collaboration import CATEGORY_POLICY, collaboration_settings_ensure, collaboration_settings_update
from .conditional_access import (
    LockoutRisk,
    conditional_access_policy_create,
    conditional_access_policy_delete,
    conditional_access_policy_update,
    named_location_create,
    named_location_delete,
    named_location_update,
)
from .cross_tenant import (
    CATEGORY_CROSS_TENANT,
    cross_tenant_default_ensure,
    cross_tenant_default_reset,
    cross_tenant_default_update,
    cross_tenant_partner_create,
    cross_tenant_partner_delete,
    cross_tenant_partner_update,
)
from .domain_federation import (
    saml_federation_create,
    saml_federation_delete,
    saml_federation_domain_add,
    saml_federation_domain_remove,
    saml_federation_update,
)
from .identity_providers import (
    CATEGORY_IDENTITY_PROVIDER,
    IdentityProviderInvalid,
    identity_provider_check,
    identity_provider_create,
    identity_provider_delete,
    identity_provider_update,
)
from .terms_of_use import agreement_accept, agreement_create, agreement_delete, agreement_update

__all__ = [
    "CATEGORY_CROSS_TENANT",
    "CATEGORY_IDENTITY_PROVIDER",
    "CATEGORY_POLICY",
    "IdentityProviderInvalid",
    "LockoutRisk",
    "agreement_accept",
    "agreement_create",
    "agreement_delete",
    "agreement_update",
    "collaboration_settings_ensure",
    "collaboration_settings_update",
    "conditional_access_policy_create",
    "conditional_access_policy_delete",
    "conditional_access_policy_update",
    "cross_tenant_default_ensure",
    "cross_tenant_default_reset",
    "cross_tenant_default_update",
    "cross_tenant_partner_create",
    "cross_tenant_partner_delete",
    "cross_tenant_partner_update",
    "identity_provider_check",
    "identity_provider_create",
    "identity_provider_delete",
    "identity_provider_update",
    "named_location_create",
    "named_location_delete",
    "named_location_update",
    "saml_federation_create",
    "saml_federation_delete",
    "saml_federation_domain_add",
    "saml_federation_domain_remove",
    "saml_federation_update",
]
