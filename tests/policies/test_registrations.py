"""What the policies app registers with the directory at start-up (DESIGN §3)."""

from directory import access
from policies.access import conditional_access_evaluator


def test_conditional_access_is_an_access_evaluator_and_terms_of_use_a_requirement_handler():
    assert conditional_access_evaluator in access._evaluators
    assert access._handlers["termsOfUse"] == "policies:terms_of_use"


def test_cross_tenant_access_is_an_access_evaluator_and_a_session_credit():
    from policies.cross_tenant_access import credit_trusted_mfa, cross_tenant_access_evaluator

    assert cross_tenant_access_evaluator in access._evaluators
    # Partner MFA is credited before every evaluation (sign-in stage, panel, app launch, token), not only at
    # the panel's entry.
    assert credit_trusted_mfa in access._credits
