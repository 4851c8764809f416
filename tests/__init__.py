from . import test_fields
from . import test_install
from . import test_pairing
from . import test_security
from . import test_settings
from . import test_signature
from . import test_views
from . import test_webhook
