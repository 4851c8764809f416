import logging
import time

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import config

from ..jibble.client import JibbleClient, JibbleConfig, JibbleError
from ..jibble.secret_box import KEY_HELP, SecretBox, SecretKeyError, is_sealed

_logger = logging.getLogger(__name__)

PARAM_PREFIX = "jibble_connector."
SECRET_PARAMS = ("client_secret", "webhook_secret")
KEY_OPTIONS = ("jibble_encryption_key", "jibble_encryption_key_previous")
DEFAULT_TOKEN_URL = "https://identity.prod.jibble.io/connect/token"
DEFAULT_WORKSPACE_URL = "https://workspace.prod.jibble.io/v1"
DEFAULT_TIME_TRACKING_URL = "https://time-tracking.prod.jibble.io/v1"
DEFAULT_TIME_ATTENDANCE_URL = "https://time-attendance.prod.jibble.io/v1"


class JibbleNotReady(UserError):
    """The connector cannot talk to Jibble yet: not configured, or its secret cannot be read."""


class JibbleConnectorConfig(models.AbstractModel):
    """Where the connector's settings and secrets are read and written.

    Settings live in `ir.config_parameter` under `jibble_connector.`; the two secrets are
    sealed with the Fernet keys of the server configuration (see jibble/secret_box.py) and are
    opened only to call Jibble or to check a webhook signature, never to be shown.
    """

    _name = "jibble.config"
    _description = "Jibble Connector Configuration"

    @api.model
    def _param(self, name, default=None):
        return self.env["ir.config_parameter"].get_param(PARAM_PREFIX + name, default)

    @api.model
    def _set_param(self, name, value):
        self.env["ir.config_parameter"].set_param(PARAM_PREFIX + name, value)

    @api.model
    def _int_param(self, name, default):
        return self._number_param(name, default, int)

    @api.model
    def _float_param(self, name, default):
        return self._number_param(name, default, float)

    @api.model
    def _number_param(self, name, default, number):
        """The parameter read as `number` (int or float); `default` when unset or unreadable."""
        try:
            return number(self._param(name) or default)
        except ValueError:
            return default

    @api.model
    def _is_neutralized(self):
        """A copy made for testing (Odoo's neutralize, a staging build): it stays quiet."""
        return bool(self.env["ir.config_parameter"].get_param("database.is_neutralized"))

    @api.model
    def _datetime_param(self, name):
        """A stored instant, or None; tolerant of seconds fractions and of garbage."""
        value = self._param(name)
        try:
            return fields.Datetime.to_datetime(value[:19]) if value else None
        except ValueError:
            _logger.warning("Ignoring jibble_connector.%s: %r is not a date and time", name, value)
            return None

    # Secrets

    @api.model
    def _secret_box(self):
        """Raises SecretKeyError when a configured key is not a Fernet key."""
        return SecretBox([(option, config.get(option)) for option in KEY_OPTIONS])

    @api.model
    def _key_problem(self):
        """What is wrong with the keys or the stored secrets, in a sentence; False if nothing."""
        try:
            box = self._secret_box()
            for name in SECRET_PARAMS:
                box.open(self._param(name))
        except SecretKeyError as error:
            return str(error)
        return False

    @api.model
    def _secret(self, name):
        """A secret in clear, for the client or the signature check only.

        Raises SecretKeyError when it is sealed and no configured key opens it.
        """
        return self._secret_box().open(self._param(name)) or False

    @api.model
    def _secret_state(self, name):
        stored = self._param(name)
        if not stored:
            return "unset"
        if not is_sealed(stored):
            return "clear"
        try:
            self._secret(name)
        except SecretKeyError:
            return "unreadable"
        return "encrypted"

    @api.model
    def _store_secret(self, name, value):
        """Seal and store a secret, or remove it with an empty value."""
        try:
            box = self._secret_box()
        except SecretKeyError as error:
            raise UserError(_("The secret was not saved: %s", error)) from None
        if value and not box.encrypts:
            _logger.warning(
                "Jibble %s stored without encryption: set jibble_encryption_key in the Odoo "
                "server configuration to encrypt it.",
                name,
            )
        self._set_param(name, box.seal(value or False) or False)

    @api.model
    def _rotate_secrets(self):
        """Re-seal the stored secrets with the current key; returns how many were."""
        try:
            box = self._secret_box()
            if not box.encrypts:
                # Without a key "rotating" would leave the secrets in clear and say otherwise.
                raise UserError(
                    _(
                        "No secret was re-encrypted: jibble_encryption_key is not set in the "
                        "Odoo server configuration; %s",
                        KEY_HELP,
                    )
                )
            rotated = 0
            for name in SECRET_PARAMS:
                stored = self._param(name)
                if stored:
                    self._set_param(name, box.rotate(stored))
                    rotated += 1
        except SecretKeyError as error:
            raise UserError(str(error)) from None
        return rotated

    # Jibble

    @api.model
    def _client_config(self):
        """Raises JibbleNotReady, with what to do, when Jibble cannot be called."""
        missing = [
            label
            for label, name in (
                (_("API Key ID"), "client_id"),
                (_("API Key Secret"), "client_secret"),
            )
            if not self._param(name)
        ]
        if missing:
            raise JibbleNotReady(_("Jibble is not configured: %s missing.", ", ".join(missing)))
        try:
            secret = self._secret("client_secret")
        except SecretKeyError as error:
            raise JibbleNotReady(_("The Jibble API key secret cannot be read: %s", error)) from None
        return JibbleConfig(
            client_id=self._param("client_id"),
            client_secret=secret,
            token_url=self._param("token_url") or DEFAULT_TOKEN_URL,
            workspace_url=self._param("workspace_url") or DEFAULT_WORKSPACE_URL,
            time_tracking_url=self._param("time_tracking_url") or DEFAULT_TIME_TRACKING_URL,
            time_attendance_url=self._param("time_attendance_url") or DEFAULT_TIME_ATTENDANCE_URL,
            max_retries=self._int_param("http_max_retries", 4),
            backoff_factor=float(self._param("http_backoff_factor") or 0.5),
            read_timeout=float(self._param("http_read_timeout") or 30),
            page_size=self._int_param("page_size", 100),
        )

    @api.model
    def _client(self):
        return JibbleClient(
            self._client_config(), time_filter_refused=bool(self._param("time_filter_refused"))
        )

    @api.model
    def _test_connection(self):
        """Ask Jibble who we are; returns (ok, sentence) and leaves a log row either way."""
        started, clock = fields.Datetime.now(), time.monotonic()
        Log = self.env["jibble.sync.log"]
        try:
            with self._client() as client:
                organization = client.get_organization()
                people = len(client.people())
        except (JibbleError, JibbleNotReady) as error:
            message = error.message if isinstance(error, JibbleError) else error.args[0]
            Log._record(
                "connection_test",
                "failed",
                message,
                start=started,
                duration=time.monotonic() - clock,
                detail=getattr(error, "detail", None) or False,
            )
            return False, message
        message = _(
            "Connected to %(name)s: %(count)s people in Jibble.",
            name=organization.get("name") or organization.get("id"),
            count=people,
        )
        Log._record(
            "connection_test", "success", message, start=started, duration=time.monotonic() - clock
        )
        return True, message
