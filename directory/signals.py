"""Signals the directory sends when something has finished (never to decide anything)."""

from django.dispatch import Signal

#: A tenant was created (sender: Tenant; ``tenant``): apps above give it their per-tenant rows.
tenant_created = Signal()
