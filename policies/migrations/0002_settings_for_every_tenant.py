"""Every tenant has its settings row, so reading the settings never writes (it did, lazily, before)."""

from django.db import migrations


def give_settings(apps, schema_editor):
    Tenant = apps.get_model("directory", "Tenant")
    CollaborationSettings = apps.get_model("policies", "CollaborationSettings")
    CollaborationSettings.objects.bulk_create(
        [CollaborationSettings(tenant_id=pk) for pk in Tenant.objects.values_list("pk", flat=True)],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [migrations.RunPython(give_settings, migrations.RunPython.noop)]
