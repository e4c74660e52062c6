import pytest

from policies.evaluators import Inviter, evaluate_invitee_domain, evaluate_inviter
from policies.models import CollaborationSettings

AIF = CollaborationSettings.AllowInvitesFrom
ADMIN = Inviter(is_admin=True)
GUEST_INVITER = Inviter(is_guest_inviter=True)
MEMBER = Inviter()
GUEST = Inviter(is_guest=True)
APP = Inviter()


@pytest.mark.parametrize(
    ("level", "allowed"),
    [
        (AIF.NONE, {}),
        (AIF.ADMINS_AND_GUEST_INVITERS, {"admin", "guest_inviter"}),
        (AIF.ADMINS_GUEST_INVITERS_AND_ALL_MEMBERS, {"admin", "guest_inviter", "member", "app"}),
        (AIF.EVERYONE, {"admin", "guest_inviter", "member", "guest", "app"}),
    ],
)
def test_who_may_invite_follows_allow_invites_from(level, allowed):
    settings = CollaborationSettings(allow_invites_from=level)
    inviters = {"admin": ADMIN, "guest_inviter": GUEST_INVITER, "member": MEMBER, "guest": GUEST, "app": APP}
    decided = {name for name, who in inviters.items() if evaluate_inviter(settings, who).allowed}
    assert decided == set(allowed)


def test_denial_carries_a_reason_and_a_code():
    decision = evaluate_inviter(CollaborationSettings(allow_invites_from=AIF.NONE), ADMIN)
    assert not decision
    assert decision.code == "invitations_disabled"
    assert "does not allow anyone" in decision.reasons[0]


@pytest.mark.parametrize(
    ("list_type", "domains", "email", "allowed"),
    [
        ("none", [], "a@anything.example", True),
        ("allow", ["partner.example"], "a@partner.example", True),
        ("allow", ["partner.example"], "a@PARTNER.example", True),
        ("allow", ["partner.example"], "a@evil.example", False),
        ("allow", ["partner.example"], "a@sub.partner.example", False),
        ("allow", ["*.partner.example"], "a@sub.partner.example", True),
        ("allow", ["*.partner.example"], "a@notpartner.example", False),
        ("block", ["live.example"], "a@live.example", False),
        ("block", ["live.example"], "a@partner.example", True),
    ],
)
def test_domain_allow_and_block_lists(list_type, domains, email, allowed):
    settings = CollaborationSettings(domain_list_type=list_type, domains=domains)
    assert evaluate_invitee_domain(settings, email).allowed is allowed
