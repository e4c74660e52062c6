"""What a caller may read of the directory. The rule for guests is a policy (the tenant's guest
access level), so the provider is wired in by config (settings.DIRECTORY_VISIBILITY_PROVIDER) and
directory does not import the layer above it."""

from django.conf import settings
from django.db.models import QuerySet
from django.utils.module_loading import import_string

from ..models import Group, User
from .principal import Principal


def _provider():
    return import_string(settings.DIRECTORY_VISIBILITY_PROVIDER)


def users(principal: Principal) -> QuerySet[User]:
    qs = User.objects.active().filter(tenant=principal.tenant)
    if principal.user is not None:
        qs = qs & _provider().users_visible_to(principal.user)
    return qs


def groups(principal: Principal) -> QuerySet[Group]:
    qs = Group.objects.filter(tenant=principal.tenant)
    if principal.user is not None:
        qs = qs & _provider().groups_visible_to(principal.user)
    return qs


def group_members(principal: Principal, group: Group) -> QuerySet[User]:
    if principal.user is not None:
        return _provider().group_members_visible_to(principal.user, group)
    return group.members.filter(deleted_at__isnull=True)
