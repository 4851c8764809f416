"""Secrets at rest: Fernet-encrypted with keys that live in the Odoo server configuration.

A database dump alone then reveals no usable secret. Values stored before a key was set stay
readable (they carry no prefix) and are encrypted the next time they are saved or rotated.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class SecretKeyError(Exception):
    """A stored secret cannot be opened with the configured keys."""


class SecretBox:
    def __init__(self, keys):
        """`keys`: the current key first, then older ones still accepted for reading."""
        keys = [key for key in keys if key]
        self._fernet = MultiFernet([Fernet(key) for key in keys]) if keys else None

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
            raise SecretKeyError("the secret is encrypted but no jibble_encryption_key is set")
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken:
            raise SecretKeyError("no configured jibble_encryption_key opens the secret") from None

    def rotate(self, stored):
        """Re-encrypt with the current key (or encrypt a clear value)."""
        return self.seal(self.open(stored))


def new_key():
    return Fernet.generate_key().decode()
