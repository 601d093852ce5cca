"""The Alexa custom skill's web service: a Rasa input channel at /webhooks/alexa/webhook.

Every request is verified first (bot.channels.alexa_verify) and refused with a 400 otherwise.
A verified request becomes one user message: LaunchRequest says hello, an IntentRequest is turned
into the sentence its intent and slots stand for (the table below also generates the skill's
interaction model, bot/alexa_model.py), SessionEndedRequest ends quietly. The bot's answers
come back as SSML with a reprompt and ``shouldEndSession: false`` whenever the bot asked a
question.

Who is speaking: Alexa account linking hands the skill the household's Dash access token
(``context.System.user.accessToken``); it travels as message metadata and the action server
checks it (bot.actions.context.identify). Without a linked account the skill can answer
product questions but not order.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from cryptography import x509
from cryptography.x509.verification import Store
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.alexa_verify import AlexaVerificationError, AlexaVerifier, fetch_chain

log = logging.getLogger(__name__)

#: Our custom intents: the sentence each one stands for ({slot} filled from the request), and
#: the sample utterances of the interaction model. One table for both directions.
INTENTS: dict[str, dict[str, Any]] = {
    "OrderIntent": {
        "text": "order {quantity} {product}",
        "slots": {"product": "PRODUCT", "quantity": "AMAZON.NUMBER"},
        "samples": [
            "order {product}",
            "add {product}",
            "add {quantity} {product}",
            "we need {product}",
            "we need {quantity} {product}",
            "buy {product}",
            "get {product}",
            "put {product} on the list",
            "we are out of {product}",
        ],
    },
    "CartIntent": {
        "text": "what's in my cart",
        "samples": ["what's in my cart", "read my cart", "what is on my list"],
    },
    "CheckoutIntent": {
        "text": "check out",
        "samples": ["check out", "place my order", "place the order", "order it"],
    },
    "RunningLowIntent": {
        "text": "what am I running low on",
        "samples": ["what am I running low on", "what do I need", "what is running out"],
    },
    "LastBoughtIntent": {
        "text": "when did I last buy {product}",
        "slots": {"product": "PRODUCT"},
        "samples": ["when did I last buy {product}", "when did we last get {product}"],
    },
    "DealsIntent": {
        "text": "any deals for me",
        "samples": ["any deals for me", "what deals do you have", "any offers"],
    },
    "VoicePinIntent": {
        "text": "my pin is {pin}",
        "slots": {"pin": "AMAZON.FOUR_DIGIT_NUMBER"},
        "samples": ["my pin is {pin}", "the pin is {pin}", "{pin}"],
    },
    # Anything else, word for word, to Rasa's own understanding.
    "UtteranceIntent": {
        "text": "{utterance}",
        "slots": {"utterance": "AMAZON.SearchQuery"},
        "samples": ["I want {utterance}", "please {utterance}", "tell dash {utterance}"],
    },
}
#: Built-in intents the skill must handle, and what they mean to the bot.
BUILT_IN = {
    "AMAZON.YesIntent": "yes",
    "AMAZON.NoIntent": "no",
    "AMAZON.HelpIntent": "help",
    "AMAZON.FallbackIntent": "something else",
    "AMAZON.NavigateHomeIntent": "hello",
}
STOP_INTENTS = {"AMAZON.StopIntent", "AMAZON.CancelIntent"}
GOODBYE = "Goodbye. Your cart is saved."


def request_text(request: dict) -> str | None:
    """The sentence a request stands for, or None when the bot need not hear it."""
    kind = request.get("type")
    if kind == "LaunchRequest":
        return "hello"
    if kind != "IntentRequest":
        return None
    intent = request.get("intent") or {}
    name = intent.get("name", "")
    if name in BUILT_IN:
        return BUILT_IN[name]
    spec = INTENTS.get(name)
    if spec is None:
        return None
    values = {
        slot: str((intent.get("slots") or {}).get(slot, {}).get("value") or "").strip()
        for slot in spec.get("slots", {})
    }
    return " ".join(spec["text"].format(**values).split()) or None


def speech(texts: list[str], *, end: bool, reprompt: str | None = None) -> dict:
    """An Alexa response: SSML output speech, and a reprompt while the session stays open."""
    body: dict[str, Any] = {
        "outputSpeech": {"type": "SSML", "ssml": f"<speak>{escape(' '.join(texts))}</speak>"},
        "shouldEndSession": end,
    }
    if not end and reprompt:
        body["reprompt"] = {
            "outputSpeech": {"type": "SSML", "ssml": f"<speak>{escape(reprompt)}</speak>"}
        }
    return {"version": "1.0", "response": body}


def asks_question(texts: list[str]) -> str | None:
    """The bot's last question, if its answer ends with one (then the session stays open)."""
    for text in reversed(texts):
        if text.rstrip().endswith("?"):
            return text
    return None


class CertCache:
    """Fetched chains kept on disk by URL, so a restart does not download them again (they are
    still verified on every request)."""

    def __init__(self, directory: Path | None, fetch: Callable[[str], bytes] = fetch_chain):
        self.directory = directory
        self.fetch = fetch

    def __call__(self, url: str) -> bytes:
        if self.directory is None:
            return self.fetch(url)
        path = self.directory / (hashlib.sha256(url.encode()).hexdigest() + ".pem")
        if path.exists():
            return path.read_bytes()
        raw = self.fetch(url)
        self.directory.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        return raw


def verifier_from_env(application_id: str | None = None) -> AlexaVerifier:
    """DASH_ALEXA_SKILL_ID (the skill's application id), DASH_ALEXA_CERT_DIR (a cache of the
    signing chains) and DASH_ALEXA_TRUST_PEM (trusted roots; default: certifi's bundle)."""
    trust = None
    if os.environ.get("DASH_ALEXA_TRUST_PEM"):
        trust = Store(x509.load_pem_x509_certificates(
            Path(os.environ["DASH_ALEXA_TRUST_PEM"]).read_bytes()))  # fmt: skip
    cache = os.environ.get("DASH_ALEXA_CERT_DIR")
    return AlexaVerifier(
        application_id or os.environ.get("DASH_ALEXA_SKILL_ID", ""),
        fetch=CertCache(Path(cache) if cache else None),
        trust=trust,
    )


class AlexaInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "alexa"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(verifier_from_env((credentials or {}).get("application_id")))

    def __init__(self, verifier: AlexaVerifier) -> None:
        self.verifier = verifier

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        alexa = Blueprint("alexa_webhook", __name__)

        @alexa.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @alexa.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            try:
                payload = self.verifier.verify(dict(request.headers), request.body or b"")
            except AlexaVerificationError as exc:
                log.warning("refused an Alexa request: %s", exc)
                return response.json({"error": str(exc)}, status=400)
            req = payload.get("request") or {}
            if (
                req.get("type") == "IntentRequest"
                and (req.get("intent") or {}).get("name") in STOP_INTENTS
            ):
                return response.json(speech([GOODBYE], end=True))
            text = request_text(req)
            if text is None:
                return response.json({"version": "1.0", "response": {}})
            system = (payload.get("context") or {}).get("System") or {}
            user = system.get("user") or (payload.get("session") or {}).get("user") or {}
            sender = "alexa-" + hashlib.sha256(str(user.get("userId")).encode()).hexdigest()[:24]
            metadata = {"voice": True, "channel": "alexa"}
            if user.get("accessToken"):
                metadata["access_token"] = user["accessToken"]
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(text, collector, sender, input_channel="alexa", metadata=metadata)
            )
            texts = [m["text"] for m in collector.messages if m.get("text")]
            question = asks_question(texts)
            if not texts:
                texts = ["Sorry, I didn't get that."]
            return response.json(speech(texts, end=question is None, reprompt=question))

        return alexa
