"""What the policies app registers with the directory at start-up (DESIGN §3)."""

from directory import access
from policies.access import conditional_access_evaluator


def test_conditional_access_is_an_access_evaluator_and_terms_of_use_a_requirement_handler():
    assert conditional_access_evaluator in access._evaluators
    assert access._handlers["termsOfUse"] == "policies:terms_of_use"
