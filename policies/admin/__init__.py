"""The policies in the admin console, one module per family (each registers its admins)."""
from . import collaboration, conditional_access, cross_tenant, domain_federation, named_locations, terms_of_use  # noqa: F401
