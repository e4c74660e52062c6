"""The policies in the admin console, one module per family (each registers its admins)."""
from . import (  # noqa: F401
    collaboration,
    conditional_access,
    cross_tenant,
    domain_federation,
    identity_providers,
    named_locations,
    terms_of_use,
)
