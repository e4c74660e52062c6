"""Transforms the directory's text indexes are built on, registered on text fields for every layer
(the API's OData parser and the selectors alike): ``field__lower`` is ``lower(column)`` (Django's iexact
compiles to UPPER(), which no index serves) and ``field__lower__bytewise`` is ``lower(column) COLLATE
"C"`` (the users' ``user_tenant_name_bytewise_idx``, migration 0008)."""

from django.db.models import CharField, TextField, Transform
from django.db.models.functions import Lower


class Bytewise(Transform):
    """``x COLLATE "C"``: compared and sorted by code point whatever the database's collation, so one
    btree index on it answers both ``LIKE 'abc%'`` (a range) and ORDER BY (SQLite: ``COLLATE BINARY``)."""

    lookup_name = "bytewise"

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.lhs)
        collation = '"C"' if connection.vendor == "postgresql" else "BINARY"
        return f"({sql}) COLLATE {collation}", params


CharField.register_lookup(Lower)
TextField.register_lookup(Lower)
CharField.register_lookup(Bytewise)
TextField.register_lookup(Bytewise)
