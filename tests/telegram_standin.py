"""A stand-in for the Telegram Bot API on loopback: records every method call (form or JSON
body) and answers like Telegram does, so the channel's send calls can be checked."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


class TelegramStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[tuple[str, dict]] = []
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                prefix = f"/bot{standin.token}/"
                if not self.path.startswith(prefix):
                    self._answer(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                method = self.path[len(prefix) :]
                standin.calls.append((method, params))
                result: object = True
                if method.lower() == "sendmessage":
                    result = {
                        "message_id": len(standin.calls),
                        "date": int(time.time()),
                        "chat": {"id": int(params["chat_id"]), "type": "private"},
                        "text": params.get("text", ""),
                    }
                self._answer(200, {"ok": True, "result": result})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sent(self, chat_id: int) -> list[dict]:
        return [
            p for m, p in self.calls if m.lower() == "sendmessage" and int(p["chat_id"]) == chat_id
        ]

    def close(self) -> None:
        self.server.shutdown()
