"""Home Assistant Assist talks to Dash through a Wyoming "handle" service.

Home Assistant sends ``describe`` (we answer ``info`` with one handle program) and, for every
utterance, ``transcript`` on a new TCP connection; we answer ``handled`` with the text to speak,
or ``not-handled`` when the assistant cannot be reached. The utterance goes to Rasa's REST
webhook (our own door on loopback) as a voice message: the Home Assistant ``conversation_id``
becomes the Rasa sender, so a follow-up ("yes") continues the same conversation.

Who is speaking: Home Assistant runs one per home, so the service is started for a household
(``--household``, DASH_ASSIST_HOUSEHOLD); a satellite or device id found in the transcript's
context and linked with `dash link assist DEVICE HOUSEHOLD [--member NAME]` overrides it (a
speaker in a shared flat, or a member's own room). The Wyoming protocol has no authentication,
so the service binds to loopback unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import urllib.error
import urllib.request
from dataclasses import dataclass

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Attribution, Describe, HandleModel, HandleProgram, Info
from wyoming.server import AsyncEventHandler, AsyncTcpServer

from shop.config import Settings
from shop.links import linked
from shop.store import Store

log = logging.getLogger(__name__)

DEFAULT_PORT = 10700
#: Context keys that may name the speaking device, in the order they are tried.
DEVICE_KEYS = ("satellite_id", "device_id")
UNREACHABLE = "Sorry, the shop assistant is not reachable right now."
ATTRIBUTION = Attribution(name="Dash", url="https://github.com/dash-reorder/dash")


@dataclass(frozen=True)
class Speaker:
    household_id: int | None
    member: str | None = None


def info() -> Info:
    model = HandleModel(
        name="dash",
        attribution=ATTRIBUTION,
        installed=True,
        description="Dash reorder assistant",
        version="0.1.0",
        languages=["en"],
    )
    program = HandleProgram(
        name="dash",
        attribution=ATTRIBUTION,
        installed=True,
        description="Reorders groceries and household goods by voice",
        version="0.1.0",
        models=[model],
    )
    return Info(handle=[program])


class Assist:
    """What every connection shares: the store (for device links) and the Rasa webhook."""

    def __init__(self, store: Store, rasa_url: str, household: int | None, timeout: float = 30):
        self.store = store
        self.webhook = rasa_url.rstrip("/") + "/webhooks/rest/webhook"
        self.household = household
        self.timeout = timeout

    def speaker(self, context: dict) -> Speaker:
        for key in DEVICE_KEYS:
            device = context.get(key)
            if isinstance(device, str) and device:
                with self.store.session() as s:
                    row = linked(s, "assist", device)
                    if row is not None:
                        return Speaker(row.household_id, row.member)
        return Speaker(self.household)

    def ask(self, sender: str, text: str, speaker: Speaker) -> list[str]:
        """One turn through Rasa's REST webhook (blocking; run in a thread)."""
        metadata: dict = {"voice": True, "channel": "assist"}
        if speaker.household_id is not None:
            metadata["household_id"] = speaker.household_id
        if speaker.member:
            metadata["member"] = speaker.member
        body = json.dumps({"sender": sender, "message": text, "metadata": metadata}).encode()
        req = urllib.request.Request(
            self.webhook, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=self.timeout) as res:  # noqa: S310 - loopback
            return [m["text"] for m in json.load(res) if m.get("text")]


def sender_for(context: dict) -> str:
    """The Rasa conversation for a Home Assistant conversation (hashed: HA's ids are long)."""
    conversation = str(context.get("conversation_id") or "default")
    return "assist-" + hashlib.sha256(conversation.encode()).hexdigest()[:24]


class Handler(AsyncEventHandler):
    def __init__(self, assist: Assist, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.assist = assist

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(info().event())
            return True
        if not Transcript.is_type(event.type):
            return True
        transcript = Transcript.from_event(event)
        context = transcript.context or {}
        reply = {"conversation_id": context.get("conversation_id")}
        text = (transcript.text or "").strip()
        if not text:
            await self.write_event(NotHandled("I didn't hear anything.", reply).event())
            return False
        speaker = self.assist.speaker(context)
        try:
            texts = await asyncio.to_thread(self.assist.ask, sender_for(context), text, speaker)
        except (OSError, ValueError) as exc:  # URLError is an OSError; bad JSON a ValueError
            log.warning("Rasa did not answer: %s", exc)
            await self.write_event(NotHandled(UNREACHABLE, reply).event())
            return False
        if not texts:
            await self.write_event(NotHandled("Sorry, I can't help with that.", reply).event())
        else:
            await self.write_event(Handled(" ".join(texts), reply).event())
        return False  # one utterance per connection


async def serve(assist: Assist, host: str, port: int) -> None:
    server = AsyncTcpServer(host, port)
    log.info("Wyoming handle service on %s:%d", host, port)
    await server.run(lambda reader, writer: Handler(assist, reader, writer))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=os.environ.get("DASH_ASSIST_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("DASH_ASSIST_PORT", DEFAULT_PORT))
    )
    parser.add_argument(
        "--rasa-url", default=os.environ.get("DASH_RASA_URL", "http://127.0.0.1:5005")
    )
    household = os.environ.get("DASH_ASSIST_HOUSEHOLD")
    parser.add_argument("--household", type=int, default=int(household) if household else None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    store = Store(Settings.from_env())
    try:
        asyncio.run(serve(Assist(store, args.rasa_url, args.household), args.host, args.port))
    finally:
        store.dispose()


if __name__ == "__main__":
    main()
