"""The token endpoint's two statements as SQL composed once per process (issue 9, speed: tokens per core).

The ORM compiles a query on every call: for the client-credentials token, compiling the client's join and
the token's INSERT was about a third of the endpoint's CPU. The statements never change, so they are
composed once from the models' own field lists, and the rows are turned into model instances with the
same converters the ORM applies (``Model.from_db``), and values into parameters with the fields' own
``get_db_prep_save``. Two model instances in, the same instances out as the ORM's would be."""

import functools

from django.db import connections
from django.db.models import Model


@functools.cache
def _converters(model: type[Model], using: str) -> list:
    connection = connections[using]
    table = model._meta.db_table
    result = []
    for field in model._meta.concrete_fields:
        col = field.get_col(table)
        result.append((col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)))
    return result


def instance_from_row(model: type[Model], using: str, values) -> Model:
    """``model.from_db`` of one row of its concrete columns, each converted as the ORM converts it."""
    connection = connections[using]
    converted = []
    for value, (col, converters) in zip(values, _converters(model, using), strict=True):
        for converter in converters:
            value = converter(value, col, connection)
        converted.append(value)
    return model.from_db(using, [f.attname for f in model._meta.concrete_fields], converted)


@functools.cache
def select_joined_sql(model: type[Model], fk: str, using: str) -> str:
    """``SELECT <model's columns>, <fk target's columns> FROM model JOIN target … WHERE model.<fk> = %s``."""
    quote = connections[using].ops.quote_name
    field = model._meta.get_field(fk)
    target = field.related_model
    columns = [f"a.{quote(f.column)}" for f in model._meta.concrete_fields]
    columns += [f"b.{quote(f.column)}" for f in target._meta.concrete_fields]
    # identifiers from the models' meta, quoted; the value is a parameter
    return (f"SELECT {', '.join(columns)} FROM {quote(model._meta.db_table)} a "  # noqa: S608
            f"JOIN {quote(target._meta.db_table)} b ON b.{quote(field.target_field.column)} = a.{quote(field.column)} "
            f"WHERE a.{quote(field.column)} = %s")


def select_with_related(model: type[Model], fk: str, value, using: str = "default") -> Model | None:
    """The row of ``model`` whose foreign key ``fk`` is ``value`` (a unique key), with the related object
    loaded into the foreign key's cache (``select_related``), or None: one statement."""
    with connections[using].cursor() as cursor:
        cursor.execute(select_joined_sql(model, fk, using), [value])
        row = cursor.fetchone()
    if row is None:
        return None
    count = len(model._meta.concrete_fields)
    obj = instance_from_row(model, using, row[:count])
    target = model._meta.get_field(fk).related_model
    setattr(obj, fk, instance_from_row(target, using, row[count:]))
    return obj


@functools.cache
def _insert_sql(model: type[Model], using: str) -> tuple[str, tuple]:
    quote = connections[using].ops.quote_name
    fields = tuple(f for f in model._meta.local_concrete_fields if not f.generated and not f.primary_key)
    placeholders = ", ".join(["%s"] * len(fields))
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES ({placeholders})")
    return sql, fields


def insert(obj: Model, using: str = "default") -> None:
    """INSERT one new row whose primary key the database assigns (it is not read back: nobody needs it)."""
    connection = connections[using]
    sql, fields = _insert_sql(type(obj), using)
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    obj._state.adding, obj._state.db = False, using
