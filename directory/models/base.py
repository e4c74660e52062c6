"""Shared pieces of the directory's models."""


from django.db import models

GUEST_UPN_MARKER = "#EXT#"


class TenantOwnedQuerySet(models.QuerySet):
    def for_tenants(self, tenants):
        """Rows of the given tenants (a queryset, ids or instances)."""
        return self.filter(tenant__in=tenants)
