"""Verifying that a request really comes from Alexa, as Amazon requires of every custom-skill
web service (https://developer.amazon.com/docs/custom-skills/host-a-custom-skill-as-a-web-service.html).

Written on `cryptography` (ask-sdk-webservice-support does not import on current OpenSSL). The
certificate fetcher and the trust store are injected, so tests verify every rule against a test
CA they make themselves; in production the fetcher downloads the chain from Amazon's S3 URL
(cached per URL) and the trust store is certifi's bundle.
"""

from __future__ import annotations

import base64
import binascii
import json
import posixpath
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

SIGNING_HOST = "echo-api.amazon.com"
#: Amazon rejects requests whose timestamp is more than 150 seconds from now.
MAX_SKEW = timedelta(seconds=150)
MAX_CHAIN_BYTES = 64 * 1024


class AlexaVerificationError(Exception):
    """The request is not a genuine Alexa request for this skill; answer 400, run nothing."""


def check_cert_url(url: str) -> None:
    """SignatureCertChainUrl: https, host s3.amazonaws.com, port 443 if given, and a path under
    /echo.api/ once normalized (so "/echo.api/../evil" is refused)."""
    if not url:
        raise AlexaVerificationError("missing SignatureCertChainUrl header")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise AlexaVerificationError("certificate URL must use https")
    if (parts.hostname or "").lower() != "s3.amazonaws.com":
        raise AlexaVerificationError("certificate URL host must be s3.amazonaws.com")
    try:
        port = parts.port
    except ValueError as exc:
        raise AlexaVerificationError("certificate URL has an invalid port") from exc
    if port not in (None, 443):
        raise AlexaVerificationError("certificate URL port must be 443")
    path = posixpath.normpath(unquote(parts.path))
    if not path.startswith("/echo.api/"):
        raise AlexaVerificationError("certificate URL path must be under /echo.api/")


def fetch_chain(url: str) -> bytes:
    """Download the PEM chain (the one network call of the Alexa channel)."""
    with urllib.request.urlopen(url, timeout=5) as res:  # noqa: S310 - URL checked above
        return res.read(MAX_CHAIN_BYTES + 1)


def default_trust_store() -> Store:
    import certifi

    with open(certifi.where(), "rb") as bundle:
        return Store(x509.load_pem_x509_certificates(bundle.read()))


@dataclass
class AlexaVerifier:
    """Checks one request: ``verify(headers, body)`` returns the parsed request or raises."""

    application_id: str
    fetch: Callable[[str], bytes] = fetch_chain
    trust: Store | None = None
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)
    _chains: dict[str, list[x509.Certificate]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def verify(self, headers: dict[str, str], body: bytes) -> dict:
        lower = {k.lower(): v for k, v in headers.items()}
        url = lower.get("signaturecertchainurl", "")
        check_cert_url(url)
        signature = lower.get("signature-256", "")
        if not signature:
            raise AlexaVerificationError("missing Signature-256 header")
        leaf = self._verified_leaf(url)
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise AlexaVerificationError("the signing certificate has no RSA key")
        try:
            raw = base64.b64decode(signature, validate=True)
            key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, binascii.Error, ValueError) as exc:
            raise AlexaVerificationError("the body's signature does not verify") from exc
        try:
            request = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise AlexaVerificationError("the body is not JSON") from exc
        if not isinstance(request, dict):
            raise AlexaVerificationError("the body is not a JSON object")
        self._check_timestamp(request)
        self._check_application(request)
        return request

    def _verified_leaf(self, url: str) -> x509.Certificate:
        """The chain from the URL, checked against the trust store at the current time, with
        the signing host in the leaf's SAN (cryptography's verifier checks dates, chain, key
        usage and the name). Chains are cached per URL; the check runs every time, so an
        expired certificate is refused even when cached."""
        with self._lock:
            chain = self._chains.get(url)
        if chain is None:
            raw = self.fetch(url)
            if len(raw) > MAX_CHAIN_BYTES:
                raise AlexaVerificationError("certificate chain too large")
            try:
                chain = x509.load_pem_x509_certificates(raw)
            except ValueError as exc:
                raise AlexaVerificationError("certificate chain is not PEM") from exc
            with self._lock:
                self._chains[url] = chain
        trust = self.trust or default_trust_store()
        verifier = (
            PolicyBuilder()
            .store(trust)
            .time(self.now())
            .build_server_verifier(x509.DNSName(SIGNING_HOST))
        )
        try:
            verifier.verify(chain[0], chain[1:])
        except VerificationError as exc:
            raise AlexaVerificationError(f"certificate not trusted: {exc}") from exc
        return chain[0]

    def _check_timestamp(self, request: dict) -> None:
        raw = (request.get("request") or {}).get("timestamp")
        try:
            stamp = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError as exc:
            raise AlexaVerificationError("request timestamp missing or malformed") from exc
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        if abs(self.now() - stamp) > MAX_SKEW:
            raise AlexaVerificationError("request timestamp is more than 150 seconds off")

    def _check_application(self, request: dict) -> None:
        context = (request.get("context") or {}).get("System") or {}
        application = (context.get("application") or {}).get("applicationId") or (
            (request.get("session") or {}).get("application") or {}
        ).get("applicationId")
        if not self.application_id or application != self.application_id:
            raise AlexaVerificationError("request is for another skill")
