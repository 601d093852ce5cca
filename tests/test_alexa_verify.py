"""Every rule Amazon sets for a custom skill's web service, against a test CA: a genuine request
passes, and each way of breaking one rule is refused."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.x509.verification import Store

from bot.channels.alexa_verify import AlexaVerificationError, AlexaVerifier, check_cert_url
from tests.alexa_ca import CERT_URL, NOW, SKILL_ID, TestCA, alexa_request, signed


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


def verifier(ca: TestCA, chain: bytes | None = None, now=NOW) -> AlexaVerifier:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return ca.pem() if chain is None else chain

    v = AlexaVerifier(SKILL_ID, fetch=fetch, trust=Store([ca.root]), now=lambda: now)
    v.fetched = fetched  # type: ignore[attr-defined]
    return v


def test_a_genuine_request_passes_and_the_chain_is_cached(ca):
    v = verifier(ca)
    headers, body = signed(ca, alexa_request(intent="OrderIntent", slots={"product": "ketchup"}))
    assert v.verify(headers, body)["request"]["intent"]["name"] == "OrderIntent"
    assert v.verify(headers, body)
    assert v.fetched == [CERT_URL]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url",
    [
        "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
        "HTTPS://S3.AMAZONAWS.COM/echo.api/echo-api-cert.pem",
    ],
)
def test_valid_certificate_urls(url):
    check_cert_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "http://s3.amazonaws.com/echo.api/echo-api-cert.pem",  # not https
        "https://notamazon.com/echo.api/echo-api-cert.pem",  # wrong host
        "https://s3.amazonaws.com.evil.com/echo.api/cert.pem",
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",  # the path is case-sensitive
        "https://s3.amazonaws.com/invalid.path/echo-api-cert.pem",
        "https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem",  # wrong port
        "https://s3.amazonaws.com/echo.api/../invalid.path/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/%2e%2e/invalid.path/cert.pem",
        "https://s3.amazonaws.com:bad/echo.api/cert.pem",
    ],
)
def test_invalid_certificate_urls_are_refused(ca, url):
    with pytest.raises(AlexaVerificationError):
        check_cert_url(url)
    headers, body = signed(ca, alexa_request(), url=url)
    v = verifier(ca)
    with pytest.raises(AlexaVerificationError):
        v.verify(headers, body)
    assert v.fetched == []  # type: ignore[attr-defined]  # refused before any download


def test_a_chain_to_an_untrusted_root_is_refused(ca):
    other = TestCA()
    headers, body = signed(other, alexa_request())
    with pytest.raises(AlexaVerificationError, match="not trusted"):
        verifier(ca, chain=other.pem()).verify(headers, body)


def test_a_chain_missing_the_intermediate_is_refused(ca):
    from cryptography.hazmat.primitives import serialization

    leaf_only = ca.leaf.public_bytes(serialization.Encoding.PEM)
    headers, body = signed(ca, alexa_request())
    with pytest.raises(AlexaVerificationError, match="not trusted"):
        verifier(ca, chain=leaf_only).verify(headers, body)


@pytest.mark.parametrize(
    "shift", [timedelta(days=-40), timedelta(days=400)], ids=["not-yet-valid", "expired"]
)
def test_a_certificate_outside_its_dates_is_refused(shift):
    ca = TestCA()
    headers, body = signed(ca, alexa_request(when=NOW + shift))
    with pytest.raises(AlexaVerificationError, match="not trusted"):
        verifier(ca, now=NOW + shift).verify(headers, body)


def test_a_certificate_for_another_name_is_refused():
    ca = TestCA(san=("echo-api.evil.com",))
    headers, body = signed(ca, alexa_request())
    with pytest.raises(AlexaVerificationError, match="not trusted"):
        verifier(ca).verify(headers, body)


def test_garbage_chains_are_refused(ca):
    headers, body = signed(ca, alexa_request())
    for chain in (b"not a certificate", b"x" * 70_000):
        with pytest.raises(AlexaVerificationError):
            verifier(ca, chain=chain).verify(headers, body)


def test_a_tampered_body_or_bad_signature_is_refused(ca):
    headers, body = signed(ca, alexa_request(intent="OrderIntent", slots={"product": "ketchup"}))
    tampered = body.replace(b"ketchup", b"caviar!")
    with pytest.raises(AlexaVerificationError, match="signature"):
        verifier(ca).verify(headers, tampered)
    for bad in ("", "not base64!", ca.sign(body, key=TestCA().leaf_key)):
        with pytest.raises(AlexaVerificationError):
            verifier(ca).verify({**headers, "Signature-256": bad}, body)


@pytest.mark.parametrize("skew", [151, -151, 3600])
def test_an_old_or_future_timestamp_is_refused(ca, skew):
    headers, body = signed(ca, alexa_request(when=NOW + timedelta(seconds=skew)))
    with pytest.raises(AlexaVerificationError, match="150 seconds"):
        verifier(ca).verify(headers, body)


def test_a_timestamp_just_within_the_window_passes(ca):
    headers, body = signed(ca, alexa_request(when=NOW - timedelta(seconds=149)))
    assert verifier(ca).verify(headers, body)


def test_a_request_for_another_skill_is_refused(ca):
    headers, body = signed(ca, alexa_request(skill="amzn1.ask.skill.someone-else"))
    with pytest.raises(AlexaVerificationError, match="another skill"):
        verifier(ca).verify(headers, body)
    payload = alexa_request()
    payload["request"]["timestamp"] = "yesterday"
    headers, body = signed(ca, payload)
    with pytest.raises(AlexaVerificationError, match="timestamp"):
        verifier(ca).verify(headers, body)
    headers, body = signed(ca, alexa_request())
    with pytest.raises(AlexaVerificationError):
        verifier(ca).verify(headers, json.dumps([1]).encode())
