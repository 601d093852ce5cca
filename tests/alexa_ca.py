"""A test certificate authority for the Alexa channel: a root, an intermediate and a signing
certificate for echo-api.amazon.com (or whatever a test needs), and signed requests."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
SKILL_ID = "amzn1.ask.skill.test-dash"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _cert(subject, key, issuer, issuer_key, *, ca: bool, san=None, start=None, end=None, now=NOW):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start or now - timedelta(days=30))
        .not_valid_after(end or now + timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=not ca,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if san:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


class TestCA:
    """Root -> intermediate -> leaf; ``pem()`` is the chain Amazon would serve."""

    __test__ = False  # not a test class

    def __init__(self, san=("echo-api.amazon.com",), start=None, end=None, now=NOW):
        self.root_key, self.mid_key, self.leaf_key = _key(), _key(), _key()
        self.root = _cert("Test Root", self.root_key, None, self.root_key, ca=True, now=now)
        self.mid = _cert(
            "Test Intermediate", self.mid_key, self.root.subject, self.root_key, ca=True, now=now
        )
        self.leaf = _cert(
            "echo-api.amazon.com",
            self.leaf_key,
            self.mid.subject,
            self.mid_key,
            ca=False,
            san=list(san),
            start=start,
            end=end,
            now=now,
        )

    def pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (self.leaf, self.mid))

    def sign(self, body: bytes, key=None) -> str:
        signature = (key or self.leaf_key).sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()


def alexa_request(kind: str = "IntentRequest", *, intent=None, slots=None, when=NOW,
                  skill=SKILL_ID, access_token=None, user="amzn1.ask.account.TEST",
                  session_id="amzn1.echo-api.session.TEST") -> dict:  # fmt: skip
    request: dict = {
        "type": kind,
        "requestId": "amzn1.echo-api.request.1",
        "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "locale": "en-US",
    }
    if intent:
        request["intent"] = {
            "name": intent,
            "confirmationStatus": "NONE",
            "slots": {k: {"name": k, "value": v} for k, v in (slots or {}).items()},
        }
    user_obj = {"userId": user, **({"accessToken": access_token} if access_token else {})}
    return {
        "version": "1.0",
        "session": {
            "new": False,
            "sessionId": session_id,
            "application": {"applicationId": skill},
            "user": user_obj,
        },
        "context": {
            "System": {
                "application": {"applicationId": skill},
                "user": user_obj,
                "device": {"deviceId": "amzn1.ask.device.TEST"},
            }
        },
        "request": request,
    }


def signed(ca: TestCA, payload: dict, url: str = CERT_URL) -> tuple[dict, bytes]:
    body = json.dumps(payload).encode()
    return {"SignatureCertChainUrl": url, "Signature-256": ca.sign(body)}, body
