"""Which access entitlement management may take away moves from ``Grant.owned`` to the directory's
``ManagedAccess`` (so a membership added directly after delivery is told apart and survives expiry)."""

from django.db import migrations

KINDS = {"Member": "member", "Owner": "owner", "DefaultAccess": "app"}


def owned_grants_to_managed_access(apps, schema_editor):
    Grant = apps.get_model("entitlements", "Grant")
    ManagedAccess = apps.get_model("directory", "ManagedAccess")
    seen = set()
    rows = []
    for user_id, tenant_id, role, group_id, application_id in (
            Grant.objects.filter(owned=True, assignment__state__in=["delivering", "partiallyDelivered", "delivered"])
            .values_list("user_id", "resource__tenant_id", "role", "resource__group_id", "resource__application_id")):
        key = (KINDS[role], group_id, application_id, user_id)
        if key not in seen:
            seen.add(key)
            rows.append(ManagedAccess(tenant_id=tenant_id, user_id=user_id, kind=KINDS[role], group_id=group_id,
                                      application_id=application_id))
    ManagedAccess.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


class Migration(migrations.Migration):

    dependencies = [
        ("entitlements", "0004_access_reviews"),
        ("directory", "0015_managed_access_and_shared_mail_bodies"),
    ]

    operations = [
        migrations.RunPython(owned_grants_to_managed_access, migrations.RunPython.noop),
        migrations.RemoveField(model_name="grant", name="owned"),
    ]
