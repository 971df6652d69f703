"""Prepared statements for the pushed request's hot path: one-row INSERT, lookup, state move.

The ORM compiles its SQL anew on every call; here each statement is built once
per model and database vendor, and only the values change. Every value still
goes through its field's own preparation (and, read back, through the
converters Django's compiler applies), so the rows written and read are the
ORM's. The fast path covers the databases django_par is tested on; any other
goes through the ORM.

Kept because it pays (``benchmarks/micro.py``: client CPU per call, median of 5
runs of 2,000 calls, autocommit):

- ``insert()``: a pushed request's ``save(force_insert=True)`` at 143-169 µs on
  SQLite and 214-236 µs on PostgreSQL, ``insert()`` at 85-94 and 158-169 µs:
  52-82 µs saved per push, 6-9 % of its 800-1,000 µs (``inserts``).
- ``select_one()``: the pushed row's lookup through the ORM
  (``filter(request_uri_digest=...)[:1]``) at 275-326 µs on SQLite and
  427-700 µs on PostgreSQL, ``select_one()`` at 44-62 and 118-168 µs:
  231-547 µs saved per lookup (``statements``).
- ``update_where()``: a state move (``filter(...).update(...)``) at 243-401 µs
  on SQLite and 316-427 µs on PostgreSQL, ``update_where()`` at 64-131 and
  131-173 µs: 160-270 µs saved per move (``statements``, 1,000 moves per run;
  three runs each, 2026-12-07).

A pushed flow does two lookups and two moves: 0.8-1.0 ms (SQLite) and
1.0-1.6 ms (PostgreSQL) of client CPU less per flow; ``benchmarks/README.md`` has the
complete flows. MySQL/MariaDB take the same path and were not measured.

It reads the model through ``_meta``, Django's documented Options API, and
builds instances with ``Model.from_db()``, as the ORM does. The one private
piece is ``instance._state`` in ``insert()``: Django has no public way to mark
an instance as stored, so after the INSERT it sets the two flags ``save()``
sets (``adding`` and ``db``), so that a later ``save()``, ``delete()`` or
model validation treats the row as the stored one it is. Nothing else of
``_state`` is read or written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import connections, models, router, transaction

# Databases whose INSERT takes "RETURNING <column>" (when the feature says so) or sets lastrowid,
# and whose SELECT ... LIMIT and UPDATE rowcount are the ORM's.
FAST_PATH_VENDORS = frozenset({"postgresql", "sqlite", "mysql"})

_PLANS: dict[tuple[str, str, bool], tuple[list[Any], str]] = {}  # by model, vendor (its quoting), RETURNING
# By model, alias and field: the SELECT, the field looked up, the columns' names and converters.
# The backend's converters are bound to the connection that built the plan; they read only what
# every connection of an alias shares (the settings' time zone), so other threads' connections reuse them.
_SELECTS: dict[tuple[str, str, str], tuple[str, Any, list[str], list[tuple[int, list[Any], Any]]]] = {}
# By model, vendor and the names in SET, WHERE ... = and WHERE ... >.
_UPDATES: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}
# By model and vendor.
_DELETES: dict[tuple[str, str], str] = {}

ModelT = TypeVar("ModelT", bound=models.Model)


def insert(instance: models.Model) -> None:
    """INSERT ``instance`` as ``instance.save(force_insert=True)`` would, for 50-80 µs less CPU.

    It raises ``IntegrityError`` as ``save()`` does, and sends no ``pre_save``
    or ``post_save`` signal on the fast path.
    """
    meta = instance._meta
    using = router.db_for_write(type(instance), instance=instance)
    connection = connections[using]
    if connection.vendor not in FAST_PATH_VENDORS or meta.auto_field is None:
        instance.save(force_insert=True, using=using)
        return
    returning = connection.features.can_return_columns_from_insert
    fields, sql = _insert_plan(meta, connection, returning)
    values = [_db_value(field, instance, connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        new_id = cursor.fetchone()[0] if returning else cursor.lastrowid
    instance.pk = meta.auto_field.to_python(new_id)
    # What save() sets on a stored instance (see the module docstring); no public API does it.
    instance._state.adding = False
    instance._state.db = using


def _db_value(field: Any, instance: models.Model, connection: Any) -> Any:
    value = field.pre_save(instance, True)
    if value is None and field.null:
        return None  # NULL, as the field's preparation would give it, without the work
    return field.get_db_prep_save(value, connection)


def _insert_plan(meta: Any, connection: Any, returning: bool) -> tuple[list[Any], str]:
    """The fields a new row writes and its INSERT statement, built once."""
    key = (meta.label, connection.vendor, returning)
    plan = _PLANS.get(key)
    if plan is None:
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})"
        if returning:
            sql += f" RETURNING {quote(meta.auto_field.column)}"
        plan = _PLANS[key] = (fields, sql)
    return plan


def select_one(model: type[ModelT], field_name: str, value: Any) -> ModelT | None:
    """The row whose ``field_name`` (a unique field) equals ``value``, as
    ``model.objects.filter(**{field_name: value})[:1]`` reads it, or None."""
    meta = model._meta
    using = router.db_for_read(model)
    connection = connections[using]
    if connection.vendor not in FAST_PATH_VENDORS or meta.parents:
        found = list(model._default_manager.using(using).filter(**{field_name: value})[:1])
        return found[0] if found else None
    sql, field, names, converters = _select_plan(meta, using, connection, field_name)
    with connection.cursor() as cursor:
        cursor.execute(sql, [field.get_db_prep_value(value, connection, prepared=False)])
        row = cursor.fetchone()
    if row is None:
        return None
    if converters:
        row = list(row)
        for index, functions, column in converters:
            for convert in functions:
                row[index] = convert(row[index], column, connection)
    return model.from_db(using, names, row)


def _select_plan(
    meta: Any, using: str, connection: Any, field_name: str
) -> tuple[str, Any, list[str], list[tuple[int, list[Any], Any]]]:
    """The SELECT of every concrete column, the field looked up, the attnames and the
    converters of each column, as Django's compiler gathers them; built once."""
    key = (meta.label, using, field_name)
    plan = _SELECTS.get(key)
    if plan is None:
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        fields = list(meta.concrete_fields)
        field = meta.get_field(field_name)
        columns = ", ".join(f"{table}.{quote(each.column)}" for each in fields)
        sql = f"SELECT {columns} FROM {table} WHERE {table}.{quote(field.column)} = %s LIMIT 1"
        converters = []
        for index, each in enumerate(fields):
            column = each.get_col(meta.db_table)
            # The compiler's order: the backend's converters, then the field's.
            functions = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if functions:
                converters.append((index, functions, column))
        plan = _SELECTS[key] = (sql, field, [each.attname for each in fields], converters)
    return plan


def update_where(
    model: type[models.Model],
    pk: Any,
    *,
    where: Mapping[str, Any],
    later: Mapping[str, Any],
    values: Mapping[str, Any],
) -> int:
    """``UPDATE ... SET values WHERE pk = %s AND <where: equal> AND <later: greater than>``; the
    number of rows it changed, as ``filter(pk=pk, **where, <later>__gt=...).update(**values)``."""
    using = router.db_for_write(model)
    connection = connections[using]
    if connection.vendor not in FAST_PATH_VENDORS or model._meta.parents:
        lookups = {**where, **{f"{name}__gt": moment for name, moment in later.items()}}
        return model._default_manager.using(using).filter(pk=pk, **lookups).update(**values)
    sql, fields = _update_plan(model._meta, connection, tuple(values), tuple(where), tuple(later))
    # The values as the ORM prepares them: get_db_prep_save for SET, get_db_prep_value for WHERE.
    count = len(values)
    params = [
        field.get_db_prep_save(value, connection) for field, value in zip(fields[:count], values.values(), strict=True)
    ]
    params += [
        field.get_db_prep_value(value, connection, prepared=False)
        for field, value in zip(fields[count:], (pk, *where.values(), *later.values()), strict=True)
    ]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.rowcount)


def _update_plan(
    meta: Any, connection: Any, changed: tuple[str, ...], equal: tuple[str, ...], greater: tuple[str, ...]
) -> tuple[str, list[Any]]:
    key = (meta.label, connection.vendor, changed, equal, greater)
    plan = _UPDATES.get(key)
    if plan is None:
        quote = connection.ops.quote_name
        fields = [meta.get_field(name) for name in changed] + [meta.pk]
        fields += [meta.get_field(name) for name in (*equal, *greater)]
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields[: len(changed)])
        conditions = [f"{quote(field.column)} = %s" for field in fields[len(changed) : len(changed) + 1 + len(equal)]]
        conditions += [f"{quote(field.column)} > %s" for field in fields[len(changed) + 1 + len(equal) :]]
        sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {' AND '.join(conditions)}"
        plan = _UPDATES[key] = (sql, fields)
    return plan


def delete_row(model: type[models.Model], pk: Any) -> int:
    """``DELETE FROM <table> WHERE pk = %s``: the number of rows deleted (0 or 1).

    Unlike ``Model.delete()`` it sends no signal and cascades to nothing: for callers
    that have deleted what refers to the row themselves.
    """
    using = router.db_for_write(model)
    connection = connections[using]
    meta = model._meta
    if connection.vendor not in FAST_PATH_VENDORS or meta.parents:
        count, _ = model._default_manager.using(using).filter(pk=pk).delete()
        return count
    key = (meta.label, connection.vendor)
    sql = _DELETES.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        pk_field: Any = meta.pk
        sql = _DELETES[key] = f"DELETE FROM {quote(meta.db_table)} WHERE {quote(pk_field.column)} = %s"
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, [meta.pk.get_db_prep_value(pk, connection, prepared=False)])
        return int(cursor.rowcount)
