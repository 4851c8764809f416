from . import hr_attendance
from . import hr_employee
from . import jibble_sync_log
from . import jibble_time_entry
from . import jibble_webhook_event
from . import jibble_sync_service
from . import res_config_settings
