"""The conditional access evaluator, table-driven: pure data in, an AccessDecision out (no database)."""

import ipaddress
import uuid
from types import SimpleNamespace

import pytest

from directory.access import APP, CONSOLE, PANEL, REGISTER_SECURITY_INFO, TOKEN
from policies.conditional_access import (
    ADMIN_PORTAL_APP_ID,
    MY_APPS_APP_ID,
    normalize_conditions,
    normalize_grant_controls,
    normalize_session_controls,
)
from policies.evaluators import (
    SignInContext,
    compile_location,
    compile_policy,
    evaluate_conditional_access,
    platform_from_user_agent,
)

ALICE, BOB = str(uuid.uuid4()), str(uuid.uuid4())
SALES = str(uuid.uuid4())
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
APP_ID = str(uuid.uuid4())
PARTNER = str(uuid.uuid4())
OFFICE = SimpleNamespace(id=uuid.UUID(int=1), display_name="Office", kind="ip", is_trusted=True,
                         ip_ranges=["203.0.113.0/24", "2001:db8::/32"])
BLOCKED_COUNTRIES = SimpleNamespace(id=uuid.UUID(int=2), display_name="Blocked", kind="country",
                                    countries_and_regions=["KP", "IR"], include_unknown_countries_and_regions=True)
LOCATIONS = (compile_location(OFFICE), compile_location(BLOCKED_COUNTRIES))
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def policy(users=None, apps=None, grant=None, session=None, state="enabled", locations=None, platforms=None,
           clients=None, name="P"):
    conditions = {"users": users or {"includeUsers": ["All"]},
                  "applications": apps or {"includeApplications": ["All"]}}
    if locations:
        conditions["locations"] = locations
    if platforms:
        conditions["platforms"] = platforms
    if clients:
        conditions["clientAppTypes"] = clients
    normalized, _refs = normalize_conditions(conditions)
    grant_controls, _terms = normalize_grant_controls(grant if grant is not None else
                                                      {"builtInControls": ["mfa"], "operator": "OR"})
    return compile_policy(SimpleNamespace(
        id=uuid.uuid4(), display_name=name, state=state, conditions=normalized, grant_controls=grant_controls,
        session_controls=normalize_session_controls(session)))


def ctx(**kw):
    defaults = dict(user_id=ALICE, resource=PANEL, ip=ipaddress.ip_address("198.51.100.7"), country="DE",
                    platform="linux", client_app_type="browser", now=1_000_000.0)
    defaults.update(kw)
    return SignInContext(**defaults)


GUESTS = {"guestOrExternalUserTypes": "b2bCollaborationGuest,b2bCollaborationMember",
          "externalTenants": {"membershipKind": "all"}}
PARTNER_GUESTS = {"guestOrExternalUserTypes": "b2bCollaborationGuest",
                  "externalTenants": {"membershipKind": "enumerated", "members": [PARTNER]}}

#: (case, policy, context, blocked, requirements, result)
CASES = [
    ("all users need MFA", policy(), ctx(), False, {"mfa"}, "failure"),
    ("MFA already met", policy(), ctx(satisfied_at={"mfa": 999_000.0}), False, set(), "success"),
    ("a stronger strength meets MFA", policy(), ctx(satisfied_at={"authenticationStrength:phishingResistant": 1.0}),
     False, set(), "success"),
    ("block wins", policy(grant={"builtInControls": ["block"]}), ctx(), True, set(), "failure"),
    ("report-only never blocks", policy(grant={"builtInControls": ["block"]}, state="enabledForReportingButNotEnforced"),
     ctx(), False, set(), "reportOnlyFailure"),
    ("report-only never requires", policy(state="enabledForReportingButNotEnforced"), ctx(), False, set(),
     "reportOnlyInterrupted"),
    ("report-only met", policy(state="enabledForReportingButNotEnforced"), ctx(satisfied_at={"mfa": 1.0}), False,
     set(), "reportOnlySuccess"),
    ("report-only not applied", policy(users={"includeUsers": [BOB]}, state="enabledForReportingButNotEnforced"),
     ctx(), False, set(), "reportOnlyNotApplied"),
    ("disabled is not enabled", policy(grant={"builtInControls": ["block"]}, state="disabled"), ctx(), False, set(),
     "notEnabled"),
    ("excluded user", policy(users={"includeUsers": ["All"], "excludeUsers": [ALICE]}), ctx(), False, set(),
     "notApplied"),
    ("included by group", policy(users={"includeGroups": [SALES]}), ctx(group_ids=frozenset({SALES})), False,
     {"mfa"}, "failure"),
    ("not in the group", policy(users={"includeGroups": [SALES]}), ctx(), False, set(), "notApplied"),
    ("excluded by group wins", policy(users={"includeUsers": ["All"], "excludeGroups": [SALES]}),
     ctx(group_ids=frozenset({SALES})), False, set(), "notApplied"),
    ("included by role", policy(users={"includeRoles": [GLOBAL_ADMIN]}), ctx(role_ids=frozenset({GLOBAL_ADMIN})),
     False, {"mfa"}, "failure"),
    ("guests of any tenant", policy(users={"includeGuestsOrExternalUsers": GUESTS}),
     ctx(guest_type="b2bCollaborationGuest"), False, {"mfa"}, "failure"),
    ("a member is not a guest", policy(users={"includeGuestsOrExternalUsers": GUESTS}), ctx(), False, set(),
     "notApplied"),
    ("guests of the listed tenant", policy(users={"includeGuestsOrExternalUsers": PARTNER_GUESTS}),
     ctx(guest_type="b2bCollaborationGuest", external_tenant_id=PARTNER), False, {"mfa"}, "failure"),
    ("guests of another tenant", policy(users={"includeGuestsOrExternalUsers": PARTNER_GUESTS}),
     ctx(guest_type="b2bCollaborationGuest", external_tenant_id=str(uuid.uuid4())), False, set(), "notApplied"),
    ("legacy GuestsOrExternalUsers", policy(users={"includeUsers": ["GuestsOrExternalUsers"]}),
     ctx(guest_type="internalGuest"), False, {"mfa"}, "failure"),
    ("guests excluded", policy(users={"includeUsers": ["All"], "excludeGuestsOrExternalUsers": GUESTS}),
     ctx(guest_type="b2bCollaborationMember"), False, set(), "notApplied"),
    ("chosen app", policy(apps={"includeApplications": [APP_ID]}), ctx(resource=APP, application_id=APP_ID), False,
     {"mfa"}, "failure"),
    ("another app", policy(apps={"includeApplications": [APP_ID]}), ctx(), False, set(), "notApplied"),
    ("all apps but this one", policy(apps={"includeApplications": ["All"], "excludeApplications": [APP_ID]}),
     ctx(resource=APP, application_id=APP_ID), False, set(), "notApplied"),
    ("admin console by name", policy(apps={"includeApplications": ["MicrosoftAdminPortals"]}), ctx(resource=CONSOLE),
     False, {"mfa"}, "failure"),
    ("admin console by app id", policy(apps={"includeApplications": [ADMIN_PORTAL_APP_ID]}), ctx(resource=CONSOLE),
     False, {"mfa"}, "failure"),
    ("console policy skips the panel", policy(apps={"includeApplications": ["MicrosoftAdminPortals"]}), ctx(),
     False, set(), "notApplied"),
    ("the panel by My Apps' id", policy(apps={"includeApplications": [MY_APPS_APP_ID]}), ctx(), False, {"mfa"},
     "failure"),
    ("all apps cover tokens", policy(), ctx(resource=TOKEN), False, {"mfa"}, "failure"),
    ("register security info", policy(apps={"includeUserActions": ["urn:user:registersecurityinfo"]}),
     ctx(resource=REGISTER_SECURITY_INFO), False, {"mfa"}, "failure"),
    ("all apps are not a user action", policy(), ctx(resource=REGISTER_SECURITY_INFO), False, set(), "notApplied"),
    ("a user action is not an app", policy(apps={"includeUserActions": ["urn:user:registersecurityinfo"]}), ctx(),
     False, set(), "notApplied"),
    ("blocked country", policy(grant={"builtInControls": ["block"]}, locations={"includeLocations": [str(
        BLOCKED_COUNTRIES.id)]}), ctx(country="KP"), True, set(), "failure"),
    ("unknown country counts as unknown", policy(grant={"builtInControls": ["block"]}, locations={
        "includeLocations": [str(BLOCKED_COUNTRIES.id)]}), ctx(country=None), True, set(), "failure"),
    ("other country", policy(grant={"builtInControls": ["block"]}, locations={"includeLocations": [str(
        BLOCKED_COUNTRIES.id)]}), ctx(), False, set(), "notApplied"),
    ("anywhere but trusted: at the office", policy(locations={"includeLocations": ["All"],
                                                              "excludeLocations": ["AllTrusted"]}),
     ctx(ip=ipaddress.ip_address("203.0.113.9")), False, set(), "notApplied"),
    ("anywhere but trusted: IPv6 office", policy(locations={"includeLocations": ["All"],
                                                            "excludeLocations": ["AllTrusted"]}),
     ctx(ip=ipaddress.ip_address("2001:db8::5")), False, set(), "notApplied"),
    ("anywhere but trusted: away", policy(locations={"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}),
     ctx(), False, {"mfa"}, "failure"),
    ("unknown IP is not the office", policy(locations={"includeLocations": [str(OFFICE.id)]}), ctx(ip=None), False,
     set(), "notApplied"),
    ("platform listed", policy(platforms={"includePlatforms": ["android", "iOS"]}), ctx(platform="iOS"), False,
     {"mfa"}, "failure"),
    ("platform not listed", policy(platforms={"includePlatforms": ["android", "iOS"]}), ctx(), False, set(),
     "notApplied"),
    ("unknown platform matches only all", policy(platforms={"includePlatforms": ["all"], "excludePlatforms": [
        "windows"]}), ctx(platform=None), False, {"mfa"}, "failure"),
    ("platform excluded", policy(platforms={"includePlatforms": ["all"], "excludePlatforms": ["linux"]}), ctx(),
     False, set(), "notApplied"),
    ("client apps listed", policy(clients=["mobileAppsAndDesktopClients"]), ctx(), False, set(), "notApplied"),
    ("client apps all", policy(clients=["all"]), ctx(), False, {"mfa"}, "failure"),
    ("AND asks for everything unmet", policy(grant={"builtInControls": ["mfa"], "termsOfUse": [str(uuid.UUID(int=7))],
                                                    "operator": "AND"}),
     ctx(), False, {"mfa", f"termsOfUse:{uuid.UUID(int=7)}"}, "failure"),
    ("OR is met by one", policy(grant={"builtInControls": ["mfa"], "termsOfUse": [str(uuid.UUID(int=7))],
                                       "operator": "OR"}),
     ctx(satisfied_at={f"termsOfUse:{uuid.UUID(int=7)}": 1.0}), False, set(), "success"),
    ("OR asks for the first in Entra's order", policy(grant={"builtInControls": ["mfa"], "termsOfUse": [
        str(uuid.UUID(int=7))], "operator": "OR"}), ctx(), False, {"mfa"}, "failure"),
    ("phishing-resistant strength", policy(grant={"authenticationStrength": {
        "id": "00000000-0000-0000-0000-000000000004"}}), ctx(satisfied_at={"mfa": 1.0}), False,
     {"authenticationStrength:phishingResistant"}, "failure"),
    ("passwordless met by phishing-resistant", policy(grant={"authenticationStrength": {
        "id": "00000000-0000-0000-0000-000000000003"}}),
     ctx(satisfied_at={"authenticationStrength:phishingResistant": 1.0}), False, set(), "success"),
    ("sign-in frequency: fresh MFA", policy(session={"signInFrequency": {"value": 1, "type": "hours"}}),
     ctx(satisfied_at={"mfa": 1_000_000.0 - 1800}), False, set(), "success"),
    ("sign-in frequency: stale MFA is asked again", policy(session={"signInFrequency": {"value": 1, "type": "hours"}}),
     ctx(satisfied_at={"mfa": 1_000_000.0 - 7200}), False, {"mfa"}, "failure"),
    ("every time: within five minutes", policy(session={"signInFrequency": {"frequencyInterval": "everyTime"}}),
     ctx(satisfied_at={"mfa": 1_000_000.0 - 200}), False, set(), "success"),
    ("every time: older", policy(session={"signInFrequency": {"frequencyInterval": "everyTime"}}),
     ctx(satisfied_at={"mfa": 1_000_000.0 - 400}), False, {"mfa"}, "failure"),
]


@pytest.mark.parametrize("case,compiled,context,blocked,requirements,result", CASES, ids=[c[0] for c in CASES])
def test_decision(case, compiled, context, blocked, requirements, result):
    decision = evaluate_conditional_access((compiled,), LOCATIONS, context)
    assert decision.blocked is blocked
    assert set(decision.requirements) == requirements
    assert [r.result for r in decision.policy_results] == [result]


def test_a_policy_that_does_not_apply_says_which_condition_failed_first():
    compiled = policy(users={"includeGroups": [SALES]}, platforms={"includePlatforms": ["iOS"]})
    result = evaluate_conditional_access((compiled,), LOCATIONS, ctx()).policy_results[0]
    assert result.reasons == ("users",)
    result = evaluate_conditional_access((compiled,), LOCATIONS, ctx(group_ids=frozenset({SALES}))).policy_results[0]
    assert result.reasons == ("devicePlatform",)


def test_every_applicable_policy_must_pass_and_a_block_clears_the_requirements():
    mfa, block = policy(name="mfa"), policy(name="block", grant={"builtInControls": ["block"]},
                                            locations={"includeLocations": [str(BLOCKED_COUNTRIES.id)]})
    assert evaluate_conditional_access((mfa, block), LOCATIONS, ctx()).requirements == {"mfa"}
    decision = evaluate_conditional_access((mfa, block), LOCATIONS, ctx(country="IR"))
    assert decision.blocked and not decision.requirements and "block" in decision.reason
    assert [r.enforced_grant_controls for r in decision.policy_results] == [("Mfa",), ("Block",)]


@pytest.mark.parametrize("agent,platform", [
    (FIREFOX_LINUX, "linux"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36", "windows"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15", "macOS"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "iOS"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126 Mobile Safari/537.36", "android"),
    ("Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) Edge/15.14977", "windowsPhone"),
    ("python-requests/2.32", None),
    ("", None),
])
def test_platform_from_user_agent(agent, platform):
    assert platform_from_user_agent(agent) == platform
