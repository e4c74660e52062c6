"""A tenant's data, seen from outside: to prove that someone from another tenant neither read nor changed it.

``populate(tenant)`` gives a tenant one of each kind of object (a member, a guest, a group with a member
and an owner, an application assigned to both); ``snapshot(tenant)`` is every row that belongs to the
tenant (any model with a ``tenant`` foreign key, and the tenant itself) with its field values and
many-to-many links, to compare before and after a call; ``object_ids(tenant)`` are the ids of those rows,
to look for in a response another tenant was given.
"""

from django.apps import apps
from django.db import models

from directory.models import Tenant
from tests.factories import ApplicationFactory, AssignmentFactory, GroupFactory, GuestFactory, UserFactory


def populate(tenant: Tenant) -> None:
    member, guest = UserFactory(tenant=tenant), GuestFactory(tenant=tenant)
    group = GroupFactory(tenant=tenant)
    group.members.add(member, guest)
    group.owners.add(member)
    app = ApplicationFactory(tenant=tenant)
    AssignmentFactory(application=app, user=member)
    AssignmentFactory(application=app, group=group)


def _tenant_models():
    for model in apps.get_models():
        field = next((f for f in model._meta.concrete_fields if f.name == "tenant"), None)
        if isinstance(field, models.ForeignKey) and field.related_model is Tenant:
            yield model


def snapshot(tenant: Tenant) -> dict:
    """{(model label, pk): (field values, many-to-many links)} for every row of ``tenant``."""
    rows = {("directory.tenant", tenant.pk): (_values(Tenant.objects.get(pk=tenant.pk)), {})}
    for model in _tenant_models():
        m2m = [f.name for f in model._meta.many_to_many]
        queryset = model._base_manager.filter(tenant=tenant)
        if m2m:
            queryset = queryset.prefetch_related(*m2m)
        for obj in queryset:
            links = {name: sorted(str(o.pk) for o in getattr(obj, name).all()) for name in m2m}
            rows[(model._meta.label_lower, obj.pk)] = (_values(obj), links)
    return rows


def _values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def object_ids(tenant: Tenant) -> set[str]:
    """The ids of every row of ``tenant`` (its primary key and its other own UUIDs, like an application's
    appId), as strings."""
    ids = {str(tenant.pk)}
    for model in _tenant_models():
        own = [f.attname for f in model._meta.concrete_fields
               if isinstance(f, models.UUIDField) and not f.is_relation]
        if not own:
            continue
        for row in model._base_manager.filter(tenant=tenant).values_list(*own):
            ids |= {str(value) for value in row if value is not None}
    return ids
