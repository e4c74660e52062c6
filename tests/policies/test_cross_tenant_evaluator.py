"""The cross-tenant access decision, table-driven by user, group and app (pure: no database)."""

from types import SimpleNamespace

import pytest

from policies.evaluators.cross_tenant import effective_settings, evaluate_cross_tenant
from policies.models.cross_tenant import (
    b2b_setting,
    default_automatic_user_consent,
    default_inbound_trust,
)

ANN, BOB = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
SALES, OPS = "33333333-3333-3333-3333-333333333333", "44444444-4444-4444-4444-444444444444"
CRM, WIKI = "55555555-5555-5555-5555-555555555555", "66666666-6666-6666-6666-666666666666"


def setting(users=("allowed", ["AllUsers"]), apps=("allowed", ["AllApplications"])) -> dict:
    def targets(ids, kind):
        return [{"target": i, "targetType": "user" if i in ("AllUsers", ANN, BOB) else kind} for i in ids]
    return {"usersAndGroups": {"accessType": users[0], "targets": targets(users[1], "group")},
            "applications": {"accessType": apps[0], "targets": [{"target": i, "targetType": "application"}
                                                                for i in apps[1]]}}


def default(**overrides):
    row = dict(b2b_collaboration_inbound=b2b_setting(), b2b_collaboration_outbound=b2b_setting(),
               inbound_trust=default_inbound_trust(), automatic_user_consent_settings=default_automatic_user_consent())
    row.update(overrides)
    return SimpleNamespace(**row)


def partner(**overrides):
    row = dict(b2b_collaboration_inbound=None, b2b_collaboration_outbound=None, inbound_trust=None,
               automatic_user_consent_settings={"inboundAllowed": False, "outboundAllowed": False})
    row.update(overrides)
    return SimpleNamespace(**row)


# (resource inbound, home outbound, user, groups, app) → (inbound allowed, outbound allowed)
CASES = [
    ("defaults let everyone in", setting(), setting(), ANN, (), CRM, True, True),
    ("inbound allows only Ann", setting(users=("allowed", [ANN])), setting(), ANN, (), CRM, True, True),
    ("inbound allows only Ann: Bob stays out", setting(users=("allowed", [ANN])), setting(), BOB, (), CRM, False, True),
    ("inbound blocks Bob", setting(users=("blocked", [BOB])), setting(), BOB, (), None, False, True),
    ("inbound blocks Bob: Ann comes in", setting(users=("blocked", [BOB])), setting(), ANN, (), None, True, True),
    ("inbound allows the Sales group", setting(users=("allowed", [SALES])), setting(), BOB, (SALES,), CRM, True, True),
    ("inbound allows Sales: an Ops member stays out", setting(users=("allowed", [SALES])), setting(), BOB, (OPS,),
     CRM, False, True),
    ("inbound blocks the Ops group", setting(users=("blocked", [OPS])), setting(), ANN, (SALES, OPS), CRM, False, True),
    ("inbound allows only the CRM", setting(apps=("allowed", [CRM])), setting(), ANN, (), CRM, True, True),
    ("inbound allows only the CRM: the wiki refused", setting(apps=("allowed", [CRM])), setting(), ANN, (), WIKI,
     False, True),
    ("inbound allows only the CRM: entering the tenant is fine", setting(apps=("allowed", [CRM])), setting(), ANN, (),
     None, True, True),
    ("inbound blocks the wiki", setting(apps=("blocked", [WIKI])), setting(), ANN, (), WIKI, False, True),
    ("inbound blocks everything", setting(("blocked", ["AllUsers"]), ("blocked", ["AllApplications"])), setting(),
     ANN, (), None, False, True),
    ("outbound blocks everything", setting(), setting(("blocked", ["AllUsers"]), ("blocked", ["AllApplications"])),
     ANN, (), None, True, False),
    ("outbound lets only Sales go", setting(), setting(users=("allowed", [SALES])), ANN, (OPS,), None, True, False),
    ("outbound lets only Sales go: a Sales member goes", setting(), setting(users=("allowed", [SALES])), ANN,
     (SALES,), CRM, True, True),
    ("outbound lets people use only the partner's CRM", setting(), setting(apps=("allowed", [CRM])), ANN, (), WIKI,
     True, False),
    ("outbound blocks Ann personally", setting(), setting(users=("blocked", [ANN])), ANN, (), CRM, True, False),
]


@pytest.mark.parametrize(("inbound", "outbound", "user", "groups", "app", "inbound_ok", "outbound_ok"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_inbound_and_outbound_by_user_group_and_app(inbound, outbound, user, groups, app, inbound_ok, outbound_ok):
    resource = effective_settings(default(), partner(b2b_collaboration_inbound=inbound))
    home = effective_settings(default(b2b_collaboration_outbound=outbound))
    decision = evaluate_cross_tenant(resource=resource, home=home, user_id=user, group_ids=groups, app_id=app,
                                     resource_name="Tailwind")
    assert (decision.inbound.allowed, decision.outbound.allowed) == (inbound_ok, outbound_ok)
    assert decision.allowed == (inbound_ok and outbound_ok)
    assert bool(decision.reason) == (not decision.allowed)
    if not decision.allowed:
        assert "Tailwind" in decision.reason or "organization" in decision.reason


def test_a_partner_inherits_what_it_does_not_set_from_the_default():
    blocked = setting(("blocked", ["AllUsers"]), ("blocked", ["AllApplications"]))
    resource = effective_settings(default(b2b_collaboration_inbound=blocked), partner(inbound_trust={"isMfaAccepted": True}))
    assert resource.inbound == blocked and resource.inbound_trust["isMfaAccepted"]
    assert not evaluate_cross_tenant(resource=resource, home=None, user_id=ANN).allowed


def test_the_partner_entry_overrides_the_default():
    blocked = setting(("blocked", ["AllUsers"]), ("blocked", ["AllApplications"]))
    resource = effective_settings(default(b2b_collaboration_inbound=blocked),
                                  partner(b2b_collaboration_inbound=setting()))
    assert evaluate_cross_tenant(resource=resource, home=None, user_id=ANN).allowed


@pytest.mark.parametrize(("trust", "expected"), [({"isMfaAccepted": True}, True), ({"isMfaAccepted": False}, False),
                                                 (None, False)])
def test_mfa_is_trusted_only_where_inbound_trust_accepts_it(trust, expected):
    resource = effective_settings(default(), partner(inbound_trust=trust))
    assert evaluate_cross_tenant(resource=resource, home=None, user_id=ANN).mfa_trusted is expected


@pytest.mark.parametrize(("inbound", "outbound", "expected"), [
    (True, True, True), (True, False, False), (False, True, False), (False, False, False)])
def test_automatic_redemption_needs_resource_inbound_and_home_outbound(inbound, outbound, expected):
    resource = effective_settings(default(), partner(automatic_user_consent_settings={"inboundAllowed": inbound}))
    home = effective_settings(default(), partner(automatic_user_consent_settings={"outboundAllowed": outbound}))
    decision = evaluate_cross_tenant(resource=resource, home=home, user_id=ANN)
    assert decision.automatic_redemption is expected


def test_automatic_redemption_is_never_on_from_the_default_alone():
    consent = {"inboundAllowed": True, "outboundAllowed": True}
    decision = evaluate_cross_tenant(resource=effective_settings(default(automatic_user_consent_settings=consent)),
                                     home=effective_settings(default(automatic_user_consent_settings=consent)),
                                     user_id=ANN)
    assert decision.automatic_redemption is False
