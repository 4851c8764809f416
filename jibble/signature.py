"""Check the HMAC signature of a webhook body (the contract is in the README)."""

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="


class SignatureError(ValueError):
    """Why a signature is refused, in words safe to send back to the caller."""


def verify_signature(secret, body, signature, timestamp, now, tolerance):
    """Raise SignatureError unless `signature` is the HMAC-SHA256 of the body with `secret`.

    With a timestamp the signed content is "<timestamp>.<body>", so a captured request
    cannot be replayed once it is older than `tolerance` seconds.
    """
    if not signature:
        raise SignatureError("missing X-Jibble-Signature header")
    signature = signature.strip()
    if signature[: len(SIGNATURE_PREFIX)].lower() == SIGNATURE_PREFIX:
        signature = signature[len(SIGNATURE_PREFIX) :]
    signed = body
    if timestamp is not None:
        timestamp = timestamp.strip()
        if not timestamp.isascii() or not timestamp.isdigit():
            raise SignatureError("X-Jibble-Timestamp is not a Unix time in seconds")
        if abs(now - int(timestamp)) > tolerance:
            raise SignatureError("X-Jibble-Timestamp is outside the accepted window")
        signed = f"{timestamp}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature.lower().encode("utf-8", "replace")):
        raise SignatureError("signature does not match the body")
