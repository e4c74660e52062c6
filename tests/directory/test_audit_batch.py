"""directory.audit.audit_batch: the audit rows of one use case inserted together, or not at all."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from directory.actors import Actor
from directory.audit import Target, audit, audit_batch
from directory.models import AuditEvent
from tests.factories import TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def _audit_twice(tenant, user):
    audit(tenant=tenant, actor=Actor.operator(), activity="Update user", targets=[Target(user)])
    audit(tenant=tenant, actor=Actor.operator(), activity="Delete user", targets=[Target(user)])


def test_rows_written_in_a_batch_are_one_insert_at_its_end():
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries, audit_batch():
        _audit_twice(tenant, user)
        with audit_batch():  # nested: the outer block writes
            audit(tenant=tenant, actor=Actor.operator(), activity="Restore user", targets=[Target(user)])
        assert AuditEvent.objects.count() == 0
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "directory_auditevent"' in q["sql"]]
    assert len(inserts) == 1
    assert sorted(AuditEvent.objects.values_list("activity_display_name", flat=True)) == [
        "Delete user", "Restore user", "Update user"]


def test_a_failed_batch_writes_nothing_and_later_rows_are_written_at_once():
    tenant = TenantFactory()
    user = UserFactory(tenant=tenant)
    with transaction.atomic():
        with pytest.raises(ValueError), audit_batch():
            _audit_twice(tenant, user)
            raise ValueError
        assert AuditEvent.objects.count() == 0
        audit(tenant=tenant, actor=Actor.operator(), activity="Update user", targets=[Target(user)])
        assert AuditEvent.objects.count() == 1  # outside a batch: written at once, as before


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError), audit_batch():
        pass
