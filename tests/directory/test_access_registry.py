"""The registry conditional access, MFA and terms of use meet at (directory/access.py)."""

from directory import access
from directory.access import AccessDecision, AccessRequest, PolicyResult


def test_decisions_merge_blocks_requirements_and_results():
    a = AccessDecision(requirements=frozenset({"mfa"}), policy_results=(PolicyResult("1", "A", "success"),))
    b = AccessDecision(blocked=True, reason="country", requirements=frozenset({"termsOfUse:x"}),
                       policy_results=(PolicyResult("2", "B", "failure"),))
    merged = a.merge(b)
    assert merged.blocked and merged.reason == "country" and not merged.allowed
    assert merged.requirements == {"mfa", "termsOfUse:x"}
    assert [r.id for r in merged.policy_results] == ["1", "2"]


def test_nothing_registered_requires_nothing(monkeypatch):
    monkeypatch.setattr(access, "_evaluators", [])
    assert access.evaluate_access(AccessRequest(tenant=None, user=None, account=None)).allowed


def test_every_registered_evaluator_is_asked(monkeypatch):
    monkeypatch.setattr(access, "_evaluators", [])
    access.register_access_evaluator(lambda r: AccessDecision(requirements=frozenset({"mfa"})))
    access.register_access_evaluator(lambda r: AccessDecision(blocked=r.resource == access.CONSOLE))
    assert access.evaluate_access(AccessRequest(tenant=None, user=None, account=None)).requirements == {"mfa"}
    assert access.evaluate_access(
        AccessRequest(tenant=None, user=None, account=None, resource=access.CONSOLE)).blocked


class _Tenant:
    pk = 7
    slug = "t"


def test_satisfied_requirements_are_kept_per_tenant_with_their_time():
    session = {}
    access.mark_satisfied(session, _Tenant, "mfa", at=100.0)
    assert access.satisfied(session, _Tenant) == {"mfa"}
    assert access.satisfied_at(session, _Tenant) == {"mfa": 100.0}
    other = type("Other", (), {"pk": 8})
    assert access.satisfied(session, other) == frozenset()


def test_a_requirement_nobody_handles_has_no_page(monkeypatch):
    monkeypatch.setattr(access, "_handlers", {})
    assert access.requirement_url("mfa", _Tenant, "/t/t/") is None
