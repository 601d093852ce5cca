"""Rasa's REST channel, for Dash's own processes on this machine only.

The actions trust a REST message's ``metadata.household_id`` (and, in the demo, a sender equal
to a household id): the callers are the Wyoming voice service, `dash chat` and the demo, all on
loopback. Rasa's stock channel answers anyone who reaches the port, and the port is the one the
web chat's browsers reach for socket.io: exposed for them, it would let anyone order for any
household. So this channel answers 403 unless the request comes from a loopback address and
carries no proxy's forwarding headers (a reverse proxy on this machine connects from loopback
too; what it forwards comes from elsewhere). It also keeps the channel name "rest" whatever the
body's ``input_channel`` says: a REST caller cannot pass itself off as Telegram or the web chat,
whose households are checked in other ways.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def from_this_machine(ip: str | None, headers: Any) -> bool:
    """True for a direct connection from a loopback address (IPv4, IPv6 or IPv4-mapped)."""
    if any(headers.get(name) for name in FORWARDING_HEADERS):
        return False
    try:
        address = ipaddress.ip_address((ip or "").strip("[]"))
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


class LoopbackRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = super().blueprint(on_new_message)

        @webhook.middleware("request")
        async def only_this_machine(request: Request) -> HTTPResponse | None:
            if from_this_machine(request.ip, request.headers):
                return None
            return response.json(
                {"error": "the REST channel answers this machine's own processes only"},
                status=403,
            )

        return webhook
