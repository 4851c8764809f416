"""Secrets at rest: Fernet-encrypted with keys that live in the Odoo server configuration.

A database dump alone then reveals no usable secret. Values stored before a key was set stay
readable (they carry no prefix) and are encrypted the next time they are saved or rotated.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"
KEY_HELP = (
    'generate one with: python3 -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


class SecretKeyError(Exception):
    """The configured keys are unusable, or none of them opens a stored secret."""


class SecretBox:
    def __init__(self, keys):
        """`keys`: the current key first, then older ones still accepted for reading.

        Raises SecretKeyError, naming the option, when a key is not a Fernet key.
        """
        fernets = []
        for option, key in keys:
            if not key:
                continue
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise SecretKeyError(
                    f"{option} in the Odoo server configuration is not a valid Fernet key "
                    f"(32 url-safe base64-encoded bytes); {KEY_HELP}"
                ) from None
        self._fernet = MultiFernet(fernets) if fernets else None

    @property
    def encrypts(self):
        return self._fernet is not None

    def seal(self, value):
        if not value or not self._fernet:
            return value
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored):
        if not stored or not stored.startswith(PREFIX):
            return stored
        if not self._fernet:
            raise SecretKeyError(
                "a Jibble secret is stored encrypted but jibble_encryption_key is not set in "
                "the Odoo server configuration: set the key it was sealed with, or set a new "
                f"key and enter the secret again ({KEY_HELP})"
            )
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyError(
                "a Jibble secret is stored encrypted with a key that is no longer configured: "
                "set the old key as jibble_encryption_key_previous, or enter the secret again"
            ) from None

    def rotate(self, stored):
        """Re-encrypt with the current key (or encrypt a clear value)."""
        return self.seal(self.open(stored))


def is_sealed(stored):
    return bool(stored) and stored.startswith(PREFIX)


def new_key():
    return Fernet.generate_key().decode()
