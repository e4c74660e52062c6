"""The policies' models, one family per module (re-exported here, so ``from policies.models import
CollaborationSettings`` keeps working)."""
from .collaboration import DOMAIN_LIST_MAX_BYTES, CollaborationSettings, validate_domain_list, validate_domain_pattern
from .conditional_access import ConditionalAccessPolicy, NamedLocation
from .cross_tenant import CrossTenantAccessDefault, CrossTenantAccessPartner
from .domain_federation import ExternalDomainFederation, ExternalDomainName
from .identity_providers import IdentityProvider
from .terms_of_use import Agreement, AgreementAcceptance, AgreementFile

__all__ = [
    "DOMAIN_LIST_MAX_BYTES",
    "Agreement",
    "AgreementAcceptance",
    "AgreementFile",
    "CollaborationSettings",
    "ConditionalAccessPolicy",
    "CrossTenantAccessDefault",
    "CrossTenantAccessPartner",
    "ExternalDomainFederation",
    "ExternalDomainName",
    "IdentityProvider",
    "NamedLocation",
    "validate_domain_list",
    "validate_domain_pattern",
]
