"""Pure decisions: no I/O, no writes. Views and services only translate a decision into a response.

``collaboration``: who may invite whom and what guests see; ``conditional_access``: what a sign-in
must satisfy."""
from .collaboration import (
    AIF,
    GA,
    Decision,
    Inviter,
    domain_matches,
    evaluate_guest_leave,
    evaluate_invitee_domain,
    evaluate_inviter,
    guest_sees_directory,
    guest_sees_group_members,
)
from .conditional_access import (
    CompiledLocation,
    CompiledPolicy,
    LocationIndex,
    PolicyIndex,
    SignInContext,
    compile_location,
    compile_policy,
    evaluate_conditional_access,
    platform_from_user_agent,
)

__all__ = [
    "AIF",
    "GA",
    "CompiledLocation",
    "CompiledPolicy",
    "Decision",
    "Inviter",
    "LocationIndex",
    "PolicyIndex",
    "SignInContext",
    "compile_location",
    "compile_policy",
    "domain_matches",
    "evaluate_conditional_access",
    "evaluate_guest_leave",
    "evaluate_invitee_domain",
    "evaluate_inviter",
    "guest_sees_directory",
    "guest_sees_group_members",
    "platform_from_user_agent",
]
