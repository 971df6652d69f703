"""One-row INSERTs for the two writes on the PAR endpoint's hot path.

``Model.save()`` compiles its INSERT anew on every call; here the SQL is built
once per model and database vendor, and only the values change. Every value
still goes through its field's own preparation, so the row is the one
``save()`` writes. The fast path covers the databases django_par is tested on;
any other goes through ``save()``.

Kept because it pays: ``benchmarks/micro.py inserts`` measured a pushed
request's ``save(force_insert=True)`` at 143-169 µs of client CPU on SQLite and
214-236 µs on PostgreSQL, ``insert()`` at 85-94 and 158-169 µs (autocommit,
2,000 calls, median of 5 runs; four runs each): 52-82 µs saved per push, 6-9 %
of its 800-1,000 µs. MySQL/MariaDB take the same path and were not measured.

It reads the model through ``_meta``, Django's documented Options API. The one
private piece is ``instance._state``: Django has no public way to mark an
instance as stored, so after the INSERT it sets the two flags ``save()`` sets
(``adding`` and ``db``), so that a later ``save()``, ``delete()`` or model
validation treats the row as the stored one it is. Nothing else of ``_state``
is read or written.
"""

from __future__ import annotations

from typing import Any

from django.db import connections, models, router

# Databases whose INSERT takes "RETURNING <column>" (when the feature says so) or sets lastrowid.
FAST_PATH_VENDORS = frozenset({"postgresql", "sqlite", "mysql"})

_PLANS: dict[tuple[str, str, bool], tuple[list[Any], str]] = {}  # by model, vendor (its quoting), RETURNING


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
