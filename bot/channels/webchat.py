"""The web chat's socket.io channel: Rasa's own, with its session handshake fixed.

Rasa 3.6 calls ``sio.enter_room(...)`` without ``await``; in the python-socketio it ships
with (5.x, where ``AsyncServer.enter_room`` is a coroutine) the browser never joins its session
room, and with ``session_persistence`` every bot answer, emitted to that room, is lost. This
channel replaces only that handler. The channel keeps the name ``socketio``, so trackers,
`bot.actions.context.WEB_CHANNEL` and clients see no difference.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint


class WebChatInput(SocketIOInput):
    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None

        async def session_request(sid: str, data: dict | None) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        sio.on("session_request", session_request, namespace=self.namespace)
        return blueprint
