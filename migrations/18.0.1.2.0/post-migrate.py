"""18.0.1.1.0 kept indexes that others already cover: entry and event ids have the index of
their unique constraint, and entries by person have the (person_id, time) index. Each one cost
a write per stored entry or event; Odoo does not drop an index a field no longer asks for."""

REDUNDANT_INDEXES = (
    "jibble_time_entry__entry_id_index",
    "jibble_time_entry__person_id_index",
    "jibble_webhook_event__event_id_index",
)


def migrate(cr, version):
    cr.execute(f"DROP INDEX IF EXISTS {', '.join(REDUNDANT_INDEXES)}")  # pylint: disable=sql-injection
