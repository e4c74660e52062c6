"""A conditional access evaluator for tests, until ``policies`` ships its own: "guests require MFA".

It is registered only inside a test (the ``guests_require_mfa`` fixture) and removed after it; the
product never ships a fake policy."""

import pytest

from directory import access
from directory.access import AccessDecision, PolicyResult

POLICY_ID = "00000000-0000-4000-8000-00000000a11a"


def guests_require_mfa_evaluator(request: access.AccessRequest) -> AccessDecision:
    if request.user is None or not request.user.is_guest:
        return AccessDecision(policy_results=(PolicyResult(POLICY_ID, "Guests require MFA", "notApplied"),))
    met = "mfa" in request.satisfied
    return AccessDecision(
        requirements=frozenset() if met else frozenset({"mfa"}),
        policy_results=(PolicyResult(POLICY_ID, "Guests require MFA", "success" if met else "failure",
                                     enforced_grant_controls=("mfa",)),),
    )


def blocks_everyone_evaluator(request: access.AccessRequest) -> AccessDecision:
    return AccessDecision(blocked=True, reason="Blocked by the test policy.",
                          policy_results=(PolicyResult("block-all", "Block everyone", "failure",
                                                       enforced_grant_controls=("block",)),))


def _registered(evaluator):
    access.register_access_evaluator(evaluator)
    try:
        yield evaluator
    finally:
        access._evaluators.remove(evaluator)


@pytest.fixture
def guests_require_mfa():
    yield from _registered(guests_require_mfa_evaluator)


@pytest.fixture
def everyone_blocked():
    yield from _registered(blocks_everyone_evaluator)
