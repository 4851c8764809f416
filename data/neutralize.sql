-- A copy of production made for testing must neither pull the real Jibble nor accept its
-- webhooks: sync off, the connector's crons off. The webhook answers 503 and Settings says so
-- while database.is_neutralized is set (Odoo's own neutralization sets it).
DELETE FROM ir_config_parameter
 WHERE key IN ('jibble_connector.sync_enabled', 'jibble_connector.quick_sync');

UPDATE ir_cron
   SET active = false
 WHERE id IN (SELECT res_id
                FROM ir_model_data
               WHERE module = 'jibble_connector' AND model = 'ir.cron');
