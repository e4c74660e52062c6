"""What the policies app registers with the directory at start-up (DESIGN §3)."""

from directory import access
from policies.access import conditional_access_evaluator


def test_conditional_access_is_an_access_evaluator_and_terms_of_use_a_requirement_handler():
    assert conditional_access_evaluator in access._evaluators
    assert access._handlers["termsOfUse"] == "policies:terms_of_use"


def test_cross_tenant_access_is_an_access_evaluator_and_an_entry_rule():
    from directory import panel
    from policies.cross_tenant_access import cross_tenant_access_evaluator, cross_tenant_entry_rule

    assert cross_tenant_access_evaluator in access._evaluators
    assert cross_tenant_entry_rule in panel._entry_rules
