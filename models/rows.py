"""Rows of the connector's own bookkeeping tables, written around the ORM's create and write."""

from odoo import fields
from odoo.tools import SQL

INSERT_BATCH = 1000


def insert_rows(model, values_list, returning=False):
    """Insert rows into `model`'s table, a thousand per statement; their ids with `returning`.

    For rows with no computed field, no tracking, no translation and no default that the
    values do not give, so nothing the ORM would do is lost: its create (a flush, defaults,
    access checks, the cache) costs about as much per row as Odoo's own work for an
    attendance. The values go through the fields' own column conversion, and the rows get
    their creation and last-update columns as the ORM would give them.
    """
    if not values_list:
        return []
    names = list(values_list[0])
    fields_ = [model._fields[name] for name in names]
    now, uid = fields.Datetime.now(), model.env.uid
    rows = [
        (
            *(field.convert_to_column_insert(values[field.name], model) for field in fields_),
            uid,
            now,
            uid,
            now,
        )
        for values in values_list
    ]
    insert = SQL(
        "INSERT INTO %s (%s, create_uid, create_date, write_uid, write_date) VALUES %%s %s",
        SQL.identifier(model._table),
        SQL(", ").join(SQL.identifier(name) for name in names),
        SQL("RETURNING id") if returning else SQL(),
    )
    returned = model.env.cr.execute_values(
        insert.code, rows, page_size=INSERT_BATCH, fetch=returning
    )
    return [row[0] for row in returned] if returning else []


def update_rows(model, values_by_id):
    """Give rows of `model` each its own values ({id: {field: value}}, the same fields for
    every row), a thousand rows per statement.

    For the same kind of rows as `insert_rows`. The ORM's write takes one set of values for
    all its records, and an entry's outcome (its attendance) is nearly unique to it: a batch
    made thousands of writes, each with the ORM's bookkeeping (about 3% of a pull). What the
    ORM still holds for these fields is written first; then the cache forgets them and what
    depends on them is marked, as after the ORM's write.
    """
    if not values_by_id:
        return
    names = list(next(iter(values_by_id.values())))
    fields_ = [model._fields[name] for name in names]
    model.flush_model(names)
    now, uid = fields.Datetime.now(), model.env.uid
    rows = [
        (
            row_id,
            *(field.convert_to_column_insert(values[field.name], model) for field in fields_),
            uid,
            now,
        )
        for row_id, values in values_by_id.items()
    ]
    columns = [*names, "write_uid", "write_date"]
    update = SQL(
        "UPDATE %s AS target SET %s FROM (VALUES %%s) AS given (id, %s) WHERE target.id = given.id",
        SQL.identifier(model._table),
        SQL(", ").join(
            SQL("%s = given.%s", SQL.identifier(name), SQL.identifier(name)) for name in columns
        ),
        SQL(", ").join(SQL.identifier(name) for name in columns),
    )
    # Typed placeholders: VALUES would take a column of NULLs for text.
    types = ["int4", *(field.column_type[1] for field in fields_), "int4", "timestamp"]
    template = "({})".format(", ".join(f"%s::{column_type}" for column_type in types))
    model.env.cr.execute_values(update.code, rows, template=template, page_size=INSERT_BATCH)
    written = model.browse(list(values_by_id))
    written.invalidate_recordset([*names, "write_uid", "write_date"])
    written.modified(names)
