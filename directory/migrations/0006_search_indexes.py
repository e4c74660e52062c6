"""Indexes for $search (PostgreSQL only) and for delta queries; Group.updated_at and the DeletedObject
tombstones that /users/delta and /groups/delta read.

$search (directory/api/search.py): each searchable column gets an index on the very expression the
query uses, so the planner can use it. The expressions must stay identical to the ones in
directory/api/search.py (tests/api/test_search.py proves with EXPLAIN that they are used).
SQLite has no GIN: there the search falls back to a scan and these indexes are not created.
"""

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models

# Graph tokenizes displayName and description (word prefixes: a GIN index on a text search document) and
# matches other properties from their start (prefix of the value: a btree on lower(column) with
# text_pattern_ops, so that LIKE 'ann%' can use it whatever the database's collation).
# The document splits at spaces, '.', '_', '-' and '@' as Graph does; the other characters are the ones
# PostgreSQL's text search parser would otherwise read as part of a host, path, e-mail or entity token.
_DOCUMENT = "to_tsvector('simple'::regconfig, translate(lower({column}), '._-@/:+<>&', '          '))"
WORD_INDEXES = [
    ("directory_user", "display_name", "user_search_display_name"),
    ("directory_group", "display_name", "group_search_display_name"),
    ("directory_group", "description", "group_search_description"),
]
PREFIX_INDEXES = [
    ("directory_user", "mail", "user_search_mail_prefix"),
    ("directory_user", "user_principal_name", "user_search_upn_prefix"),
]


def create_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, name in WORD_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                              f"USING gin ({_DOCUMENT.format(column=column)})")
    for table, column, name in PREFIX_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} "
                              f"(tenant_id, lower({column}) text_pattern_ops)")


def drop_search_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in WORD_INDEXES + PREFIX_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('directory', '0005_group_mail_nickname_user_manager'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeletedObject',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('object_type', models.CharField(choices=[('user', 'User'), ('group', 'Group')], max_length=16)),
                ('object_id', models.UUIDField(default=uuid.uuid4)),
                ('deleted_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddField(
            model_name='group',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddIndex(
            model_name='group',
            index=models.Index(fields=['tenant', 'updated_at', 'id'], name='group_tenant_changed_idx'),
        ),
        migrations.AddIndex(
            model_name='user',
            index=models.Index(fields=['tenant', 'updated_at', 'id'], name='user_tenant_changed_idx'),
        ),
        migrations.AddField(
            model_name='deletedobject',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deleted_objects', to='directory.tenant'),
        ),
        migrations.AddIndex(
            model_name='deletedobject',
            index=models.Index(fields=['tenant', 'object_type', 'deleted_at', 'id'], name='deleted_object_delta_idx'),
        ),
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
