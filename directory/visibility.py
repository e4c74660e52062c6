"""What a person may read of their tenant's directory.

The rule for guests is a policy (the tenant's guest access level), which lives in a layer above the
directory, so it is **registered** at start-up (``policies`` does it in ``AppConfig.ready``) instead
of being imported. Until a rule is registered, a guest sees only itself: fail closed.
"""

from typing import Protocol

from django.db.models import QuerySet

from .models import Group, User


class VisibilityRule(Protocol):
    def users_visible_to(self, viewer: User) -> QuerySet[User]: ...
    def groups_visible_to(self, viewer: User) -> QuerySet[Group]: ...
    def group_members_visible_to(self, viewer: User, group: Group) -> QuerySet[User]: ...


class _OnlySelf:
    def users_visible_to(self, viewer: User) -> QuerySet[User]:
        return User.objects.filter(pk=viewer.pk)

    def groups_visible_to(self, viewer: User) -> QuerySet[Group]:
        return Group.objects.filter(members=viewer)

    def group_members_visible_to(self, viewer: User, group: Group) -> QuerySet[User]:
        return group.members.filter(pk=viewer.pk)


_rule: VisibilityRule = _OnlySelf()


def register_visibility_rule(rule: VisibilityRule) -> None:
    global _rule
    _rule = rule


def rule() -> VisibilityRule:
    return _rule
