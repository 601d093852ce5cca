"""Telegram: Rasa's Telegram output (aiogram) behind a webhook of our own.

Differences from Rasa's stock channel, and why:
- Telegram signs nothing, but since Bot API 6.1 it sends the ``secret_token`` given to
  setWebhook in ``X-Telegram-Bot-Api-Secret-Token``; updates without it are refused (403), so
  nobody who merely knows the URL can speak for a chat.
- No call to Telegram on start-up or per update (the stock channel sets the webhook when Rasa
  starts and calls getMe for every update); `dash telegram-webhook` sets the webhook once.
- The API base URL is configurable, for a Local Bot API Server or the tests' stand-in.
- Malformed updates get a 400 and never reach the bot.

Configuration (credentials.yml values win over the environment): ``access_token``
(DASH_TELEGRAM_TOKEN), ``secret_token`` (DASH_TELEGRAM_SECRET), ``webhook_url``
(DASH_TELEGRAM_WEBHOOK_URL) and ``api_url`` (DASH_TELEGRAM_API_URL, default
https://api.telegram.org). Without a token the channel answers 503 and calls nothing.

Which household a chat speaks for: a link made with `dash link telegram CHAT_ID HOUSEHOLD`
(shop.links); an unlinked chat is a visitor and is told its chat id.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.bot.api import TelegramAPIServer
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.telegram import TelegramOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

PRODUCTION_API = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 64 * 1024


class DashTelegramOutput(TelegramOutput):
    def __init__(self, access_token: str, api_url: str = PRODUCTION_API) -> None:
        Bot.__init__(self, access_token, server=TelegramAPIServer.from_base(api_url))


def update_text(update: dict) -> tuple[str, str, dict] | None:
    """(chat id, text, metadata) of a message or a button press; None for anything else
    (stickers, joins, edits of nothing)."""
    if isinstance(update.get("callback_query"), dict):
        query = update["callback_query"]
        message = query.get("message") or {}
        text, sender = query.get("data"), query.get("from") or {}
    else:
        message = update.get("message") or update.get("edited_message") or {}
        text, sender = message.get("text"), message.get("from") or {}
    chat = message.get("chat") or {}
    if not isinstance(text, str) or not text.strip() or "id" not in chat:
        return None
    if text.strip().split()[0] in ("/start", "/help"):
        text = "hello" if text.strip().startswith("/start") else "help"
    return str(chat["id"]), text.strip(), {"telegram_user": sender.get("id")}


class TelegramChannel(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        c = credentials or {}
        env = os.environ
        return cls(
            access_token=c.get("access_token") or env.get("DASH_TELEGRAM_TOKEN", ""),
            secret_token=c.get("secret_token") or env.get("DASH_TELEGRAM_SECRET", ""),
            webhook_url=c.get("webhook_url") or env.get("DASH_TELEGRAM_WEBHOOK_URL", ""),
            api_url=c.get("api_url") or env.get("DASH_TELEGRAM_API_URL", PRODUCTION_API),
        )

    def __init__(
        self, access_token: str, secret_token: str, webhook_url: str, api_url: str
    ) -> None:
        self.access_token = access_token
        self.secret_token = secret_token
        self.webhook_url = webhook_url
        self.api_url = api_url

    def get_output_channel(self) -> DashTelegramOutput | None:
        if not self.access_token:
            return None
        return DashTelegramOutput(self.access_token, self.api_url)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        telegram = Blueprint("telegram_webhook", __name__)

        @telegram.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok", "configured": bool(self.access_token)})

        @telegram.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.access_token or not self.secret_token:
                return response.json({"error": "telegram is not configured"}, status=503)
            sent = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(sent.encode(), self.secret_token.encode()):
                return response.json({"error": "bad or missing secret token"}, status=403)
            body = request.body or b""
            if len(body) > MAX_UPDATE_BYTES:
                return response.json({"error": "update too large"}, status=413)
            try:
                update = json.loads(body)
            except (ValueError, RecursionError):
                return response.json({"error": "the update is not JSON"}, status=400)
            if not isinstance(update, dict):
                return response.json({"error": "the update is not a JSON object"}, status=400)
            parsed = update_text(update)
            if parsed is None:
                return response.json({"status": "ignored"})
            chat_id, text, metadata = parsed
            out = self.get_output_channel()
            try:
                await on_new_message(
                    UserMessage(text, out, chat_id, input_channel="telegram", metadata=metadata)
                )
            finally:
                await out.close()
            return response.json({"status": "ok"})

        return telegram


async def set_webhook(channel: TelegramChannel) -> dict:
    """Tell Telegram where to send updates, with the secret it must echo back."""
    bot = channel.get_output_channel()
    if bot is None or not channel.webhook_url or not channel.secret_token:
        raise ValueError("set DASH_TELEGRAM_TOKEN, DASH_TELEGRAM_SECRET and _WEBHOOK_URL")
    try:
        return await bot.request(
            "setWebhook",
            {
                "url": channel.webhook_url,
                "secret_token": channel.secret_token,
                "allowed_updates": json.dumps(["message", "edited_message", "callback_query"]),
            },
        )
    finally:
        await bot.close()
