"""Signals the directory sends when something has finished (never to decide anything)."""

from django.dispatch import Signal

#: A tenant was created (sender: Tenant; ``tenant``): apps above give it their per-tenant rows.
tenant_created = Signal()

#: Group memberships or role assignments changed by a set-based write that sends no model signal (a
#: queryset delete on an auto-created many-to-many table, a bulk insert). Sender: the model written.
#: Whoever keeps facts about people's groups and roles (conditional access) forgets them.
memberships_changed = Signal()
