"""18.0.1.0.0 stored the Jibble secrets in clear in the Settings rows, and ordered news by an
arrival sequence. The secret fields are write-only now and news is ordered by what it says:
drop the columns that held them, with what they held."""

OBSOLETE_COLUMNS = {
    "res_config_settings": ("jibble_client_secret", "jibble_webhook_secret"),
    "jibble_time_entry": ("observed_seq",),
    "jibble_webhook_event": ("observation",),
}


def migrate(cr, version):
    for table, columns in OBSOLETE_COLUMNS.items():
        drops = ", ".join(f"DROP COLUMN IF EXISTS {column}" for column in columns)
        cr.execute(f"ALTER TABLE {table} {drops}")  # pylint: disable=sql-injection
