"""Insert many unsaved model instances fast: COPY on PostgreSQL, executemany on SQLite.

`bulk_create` builds one parameterized INSERT per batch; with psycopg's client-side binding
every value is quoted into the SQL text, and on both databases the ORM's per-value
preparation costs more than the insert. For a million demo races that is minutes. Here each
instance becomes a plain tuple through a converter chosen once per field (timestamps to unix
seconds, JSON to text), and the rows go to the database in its own bulk path.
Call inside a transaction; rows must not exist yet (the caller filters duplicates).
"""

import json

from django.db import connections, models, router

from jobs.fields import UnixTimestampField, to_unix_seconds


def _converter(field):
    if isinstance(field, UnixTimestampField):
        return to_unix_seconds
    if isinstance(field, models.JSONField):
        return lambda value: None if value is None else json.dumps(value)
    return None


def _columns(model, skip_auto_pk):
    fields = [
        field
        for field in model._meta.concrete_fields
        # Generated columns are computed by the database and may not be written.
        if not field.generated and not (skip_auto_pk and isinstance(field, models.AutoField))
    ]
    return fields, [(field.attname, _converter(field)) for field in fields]


def rows_of(instances, plan):
    for instance in instances:
        row = []
        for attname, convert in plan:
            value = getattr(instance, attname)
            row.append(value if convert is None or value is None else convert(value))
        yield row


def insert_instances(model, instances, *, using=None):
    """Insert `instances` (auto-increment primary keys left to the database)."""
    using = using or router.db_for_write(model)
    connection = connections[using]
    fields, plan = _columns(model, skip_auto_pk=True)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            copy_sql = f"COPY {table} ({names}) FROM STDIN"
            with cursor.cursor.copy(copy_sql) as copy:
                for row in rows_of(instances, plan):
                    copy.write_row(row)
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        placeholders = ", ".join("?" for _ in fields)
        connection.connection.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({placeholders})",  # noqa: S608
            rows_of(instances, plan),
        )
        return
    model.objects.using(using).bulk_create(instances)
