"""Rows of the connector's own bookkeeping tables, inserted without the ORM's create."""

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
