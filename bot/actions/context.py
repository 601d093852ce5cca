"""What an action needs: the store and resolver (built once per process), and who is talking."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from shop.chat_tickets import verify_ticket
from shop.config import Settings
from shop.errors import Unauthorized
from shop.households import authenticate
from shop.links import linked
from shop.models import Household
from shop.parsing import parse_id
from shop.replenishment import CycleCache
from shop.resolve import ProductResolver
from shop.search import ProductIndex, catalog_version
from shop.store import Store

#: Input channels whose answers are spoken, not shown.
VOICE_CHANNELS = {"alexa", "wyoming", "voice", "speaker", "assist"}
#: The web chat's channel: who is typing comes from a signed ticket only.
WEB_CHANNEL = "socketio"
#: Channels whose chats or devices are linked to households (shop.links).
LINKED_CHANNELS = {"telegram"}
#: Our own processes' channels (loopback): they may name the household in metadata. An empty
#: channel is an external event (trigger_intent) to a conversation that never spoke.
TRUSTED_CHANNELS = {"rest", "cmdline", ""}


class ShopContext:
    """The store and the product resolver; tests pass their own, the server builds one."""

    _default: ShopContext | None = None
    _lock = threading.Lock()

    def __init__(self, store: Store, resolver: ProductResolver | None = None) -> None:
        self.store = store
        self.settings = store.settings
        self.resolver = resolver or ProductResolver(store.settings.models_dir)
        self._index: ProductIndex | None = None
        self.cycles = CycleCache()  # what is running low: the whole shop's table, reused

    def search_index(self, session: Session) -> ProductIndex:
        """Product search for suggestions, rebuilt only when the catalog changes."""
        version = catalog_version(session)
        if self._index is None or self._index.version != version:
            self._index = ProductIndex.build(session)
        return self._index

    def offer_refresher(self, session: Session, household_id: int, now) -> None:  # noqa: ANN001
        """Run the offer engine for one household (when it asks for deals and has none)."""
        from shop.offer_engine import refresh

        refresh(session, self.settings, self.resolver.models(), [household_id], now)

    @classmethod
    def default(cls) -> ShopContext:
        """Built lazily on the first action, from the environment (DASH_DATABASE_URL ...)."""
        with cls._lock:
            if cls._default is None:
                cls._default = cls(Store(Settings.from_env()))
            return cls._default


@dataclass(frozen=True)
class Who:
    household_id: int | None
    member: str | None
    channel: str
    voice: bool

    @property
    def source(self) -> str:
        """The cart-line source for this channel."""
        return "voice" if self.voice else "chat"


def identify(tracker: Tracker, session: Session, secret: str = "") -> Who:
    """Who is talking: the household, the member if the channel knows it, and whether answers
    are spoken. Each channel has one way to say who it is, and no other counts:

    - web chat (socket.io): the browser picks its session id and metadata, so only a ticket
      signed by the web app names the household (shop.chat_tickets);
    - Telegram: the chat must be linked to a household (`dash link telegram CHAT HOUSEHOLD`);
    - Alexa: the account-linking access token, a Dash token of that household;
    - REST (our own processes on loopback: the Wyoming service, `dash chat`, the demo):
      ``metadata.household_id``, or in the demo a sender equal to a household id.
    Anyone else is a visitor: products and bestsellers, but no ordering."""
    metadata: dict[str, Any] = tracker.latest_message.get("metadata") or {}
    channel = tracker.get_latest_input_channel() or str(metadata.get("channel") or "")
    voice = bool(metadata.get("voice")) or channel in VOICE_CHANNELS
    member = metadata.get("member")
    raw: object = None
    if channel == WEB_CHANNEL:
        raw = verify_ticket(secret, metadata.get("ticket"), tracker.sender_id)
    elif channel in LINKED_CHANNELS:
        row = linked(session, channel, tracker.sender_id)
        raw, member = (row.household_id, row.member) if row else (None, None)
    elif channel == "alexa":
        raw = _token_household(session, metadata.get("access_token"))
    elif channel in TRUSTED_CHANNELS:
        raw = metadata.get("household_id", tracker.sender_id)
    household_id = parse_id(raw)
    if household_id is not None and session.get(Household, household_id) is None:
        household_id = None
    return Who(household_id, member if isinstance(member, str) and member else None, channel, voice)


def _token_household(session: Session, token: object) -> int | None:
    if not isinstance(token, str) or not token:
        return None
    try:
        record = authenticate(session, token)
    except Unauthorized:
        return None
    return record.household_id if record.role == "household" else None
