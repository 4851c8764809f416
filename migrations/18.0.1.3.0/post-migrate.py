"""18.0.1.2.0 kept a plain index beside the unique index of each attendance's Jibble ids
(clock-in and clock-out): one more write per attendance, for searches the unique index
answers. Odoo does not drop an index a field no longer asks for."""

REDUNDANT_INDEXES = (
    "hr_attendance__jibble_entry_id_index",
    "hr_attendance__jibble_out_entry_id_index",
)


def migrate(cr, version):
    cr.execute(f"DROP INDEX IF EXISTS {', '.join(REDUNDANT_INDEXES)}")  # pylint: disable=sql-injection
