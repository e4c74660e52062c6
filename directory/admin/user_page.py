"""What a user's page in the admin console shows below the form: groups, apps, roles and sponsors
(the directory's), and what apps above register (the invitation history, with resend and reset
redemption, is the invitations app's). Each section reads with a fixed number of queries."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..models import AppRoleAssignment, Group, RoleAssignment, User
from .base import tenants_with


@dataclass(frozen=True)
class UserSection:
    key: str
    title: str
    area: str  # shown to those who may read this console area in the user's tenant
    template: str  # rendered with ``data``, ``user`` and ``request``
    collect: Callable  # (request, user) -> data
    order: int = 100


_SECTIONS: dict[str, UserSection] = {}


def register_user_section(section: UserSection) -> None:
    _SECTIONS[section.key] = section


def user_sections(request, user: User) -> list[dict]:
    shown = []
    for section in sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key)):
        if request.user.is_superuser or user.tenant_id in tenants_with(request, section.area, manage=False):
            shown.append({"section": section, "data": section.collect(request, user)})
    return shown


def _groups(request, user):
    return list(Group.objects.filter(Q(members=user) | Q(owners=user)).distinct().order_by("display_name")
                .values("pk", "display_name", "description"))


def _apps(request, user):
    groups = Group.objects.filter(members=user).values("pk")
    return list(AppRoleAssignment.objects.filter(Q(user=user) | Q(group__in=groups))
                .select_related("application", "group").order_by("application__display_name"))


def _roles(request, user):
    return list(RoleAssignment.objects.filter(user=user).order_by("role"))


def _sponsors(request, user):
    # Add and remove go through the sponsors service (as sponsors/$ref): offered to those who manage users.
    may_edit = user.deleted_at is None and (
        request.user.is_superuser or user.tenant_id in tenants_with(request, "user", manage=True))
    return {"sponsors": list(user.sponsors.order_by("display_name").only(
        "pk", "display_name", "user_principal_name", "mail", "deleted_at")), "may_edit": may_edit}


register_user_section(UserSection("groups", _("Groups"), "group", "admin/directory/user/section_groups.html",
                                  _groups, order=10))
register_user_section(UserSection("apps", _("Applications"), "application", "admin/directory/user/section_apps.html",
                                  _apps, order=20))
register_user_section(UserSection("roles", _("Directory roles"), "role", "admin/directory/user/section_roles.html",
                                  _roles, order=30))
register_user_section(UserSection("sponsors", _("Sponsors"), "user", "admin/directory/user/section_sponsors.html",
                                  _sponsors, order=40))


# --- pages under the users (reports apps above add: the inactive-guests report is the invitations app's) ---


@dataclass(frozen=True)
class UserPage:
    route: str  # under /admin/directory/user/, e.g. "inactive-guests/"
    name: str  # the URL name, under "admin:"
    title: str
    view: Callable  # (model_admin, request) -> response; the page checks who may see it


_PAGES: dict[str, UserPage] = {}


def register_user_page(page: UserPage) -> None:
    _PAGES[page.name] = page


def user_pages() -> list[UserPage]:
    return sorted(_PAGES.values(), key=lambda p: p.name)
