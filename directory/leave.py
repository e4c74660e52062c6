"""May an external user leave an organization? The directory's half of the rule, and the registry for the rest.

Entra (external-id/leave-the-organization.md): a B2B collaboration user may leave a resource tenant from My
Account > Organizations when the tenant's **External user leave settings** allow it; that setting exists
only once the tenant has set its privacy information, and a disabled account cannot leave. The home
organization has no Leave. What the directory knows (who is external, whether the account is enabled,
the tenant's privacy statement) is decided here; the switch is a policy (``policies``' collaboration
settings, Graph beta ``externalIdentitiesPolicy.allowExternalIdentitiesToLeave``), which lives in a layer
above, so ``policies`` **registers** its rule at start-up (DESIGN §3). Until one is registered nobody
leaves (fail closed).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import User


@dataclass(frozen=True)
class LeaveDecision:
    allowed: bool
    reason: str = ""
    code: str = ""

    def __bool__(self) -> bool:
        return self.allowed


_rule: list[Callable[[User], str | None]] = []


def register_leave_rule(rule: Callable[[User], str | None]) -> None:
    """``rule(user)`` returns why ``user`` may not leave its tenant (a policy said no), or None."""
    _rule[:] = [rule]


def is_external(user: User) -> bool:
    """A B2B collaboration user (guest, or member invited from outside): not someone of this organization."""
    return user.is_guest or bool(user.external_user_state)


def leave_decision(user: User) -> LeaveDecision:
    """May ``user`` leave its tenant now? The reason is for the person, naming whom to ask."""
    tenant = user.tenant
    ask = _("Contact the administrator of %(org)s to be removed from it.") % {"org": tenant.name}
    if not is_external(user):
        return LeaveDecision(False, _("%(org)s is your home organization; you cannot leave it.") % {"org": tenant.name},
                             "home_organization")
    if user.deleted_at is not None or not user.account_enabled:
        return LeaveDecision(False, _("Your account in %(org)s is disabled. ") % {"org": tenant.name} + ask,
                             "account_disabled")
    if not tenant.privacy_statement_url:
        return LeaveDecision(False, _("%(org)s has not published a privacy statement, so leaving it on your own "
                                      "is not possible. ") % {"org": tenant.name} + ask, "no_privacy_statement")
    if not _rule:
        return LeaveDecision(False, ask, "no_leave_rule")
    refusal = _rule[0](user)
    if refusal:
        return LeaveDecision(False, f"{refusal} {ask}", "leave_disabled")
    return LeaveDecision(True)
