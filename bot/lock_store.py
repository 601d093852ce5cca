"""A Redis lock store that really serializes a conversation across several Rasa processes.

Rasa Open Source 3.6's ``RedisLockStore`` keeps each conversation's ticket queue as one JSON
value and changes it by read, modify, write: two Rasa processes issuing a ticket for the same
conversation at the same moment both read the empty queue, both write ticket 0, and both go
ahead (RasaHQ/rasa#9213; the concurrent lock store that fixed it went to Rasa Pro). The SQL
tracker store then appends each process's new events after the count it finds in the
database, so the second writer's events vanish. In deploy/scale that lost about one scan
follow-up in 15 test runs, when a user turn and a bridge's ``trigger_intent`` met.

This store keeps Rasa's ticket protocol (first come, first served, tickets expire after the
lock lifetime) and makes every change of the queue atomic by holding a short Redis mutex
(redis-py's ``Lock``: ``SET NX PX`` with a token, released by a compare-and-delete script)
around it. It also polls a taken lock every ``poll_interval`` seconds instead of Rasa's fixed
1 s, so a turn waiting behind another waits about as long as that one takes.

Configure it in endpoints.yml::

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: 127.0.0.1
      port: 6379
      key_prefix: dash
"""

from __future__ import annotations

from typing import Any

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, RedisLockStore

#: A queue change is two Redis round trips; a mutex older than this belongs to a dead process.
MUTEX_TIMEOUT_S = 5.0


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose ticket queue changes are atomic across processes."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        options = dict(endpoint_config.kwargs) if endpoint_config is not None else {}
        options.update(kwargs)
        if endpoint_config is not None and endpoint_config.url:
            options.setdefault("host", endpoint_config.url)
        self.poll_interval = float(options.pop("poll_interval", 0.05))
        super().__init__(**options)

    def _mutex(self, conversation_id: str):
        return self.red.lock(
            f"{self.key_prefix}{conversation_id}:mutex",
            timeout=MUTEX_TIMEOUT_S,
            sleep=0.002,
            blocking_timeout=MUTEX_TIMEOUT_S * 2,
        )

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        with self._mutex(conversation_id):
            return super().issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id: str) -> None:
        with self._mutex(conversation_id):
            super().update_lock(conversation_id)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Finishing and deleting the emptied queue must be one step: otherwise a ticket issued
        # in between is deleted with the queue and its holder fails with a LockError.
        with self._mutex(conversation_id):
            super().cleanup(conversation_id, ticket_number)

    async def _acquire_lock(
        self, conversation_id: str, ticket: int, wait_time_in_seconds: float
    ) -> TicketLock:
        return await super()._acquire_lock(
            conversation_id, ticket, min(wait_time_in_seconds, self.poll_interval)
        )
