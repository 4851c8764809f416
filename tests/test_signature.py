import hashlib
import hmac

from odoo.tests import BaseCase, tagged

from ..jibble.signature import SignatureError, verify_signature

SECRET = "s3cret"
BODY = b'{"id": "evt-1"}'
NOW = 1_750_000_000


def digest(content):
    return hmac.new(SECRET.encode(), content, hashlib.sha256).hexdigest()


@tagged("post_install", "-at_install")
class TestSignature(BaseCase):
    def verify(self, signature, timestamp=None, body=BODY, now=NOW):
        verify_signature(SECRET, body, signature, timestamp, now, 300)

    def test_prefixed_and_bare_hex_are_accepted(self):
        self.verify("sha256=" + digest(BODY))
        self.verify(digest(BODY))
        self.verify("SHA256=" + digest(BODY).upper())

    def test_timestamp_is_part_of_the_signed_content(self):
        self.verify("sha256=" + digest(f"{NOW}.".encode() + BODY), timestamp=str(NOW))
        with self.assertRaisesRegex(SignatureError, "does not match"):
            self.verify("sha256=" + digest(BODY), timestamp=str(NOW))

    def test_refusals_say_why(self):
        cases = [
            ((None,), "missing"),
            (("sha256=" + digest(b"other"),), "does not match"),
            (("sha256=" + digest(BODY), str(NOW - 301)), "outside the accepted window"),
            (("sha256=" + digest(BODY), str(NOW + 301)), "outside the accepted window"),
            (("sha256=" + digest(BODY), "12.5"), "not a Unix time"),
            (("sha256=" + digest(BODY), "١٢٣"), "not a Unix time"),
            (("sha256=é" + digest(BODY)[1:],), "does not match"),
        ]
        for args, reason in cases:
            with (
                self.subTest(reason=reason, args=args),
                self.assertRaisesRegex(SignatureError, reason),
            ):
                self.verify(*args)
