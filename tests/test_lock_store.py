"""bot.lock_store against a real Redis: one conversation, many "Rasa processes" (each thread its
own store and connection, as separate processes would have), never two holders at once."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid

import pytest
from rasa.core.lock_store import LockStore
from rasa.utils.endpoints import EndpointConfig

from bot.lock_store import AtomicRedisLockStore
from shop.processes import port_open

REDIS = ("127.0.0.1", int(os.environ.get("DASH_TEST_REDIS_PORT", "6379")))


@pytest.fixture
def endpoint():
    if not port_open(*REDIS):
        pytest.fail(f"Redis is not running on {REDIS[0]}:{REDIS[1]}: run `make services`")
    return EndpointConfig(
        url=REDIS[0],
        type="bot.lock_store.AtomicRedisLockStore",
        port=REDIS[1],
        db=0,
        key_prefix=f"dashlock{uuid.uuid4().hex[:6]}",
        poll_interval=0.005,
    )


def hammer(make_store, processes: int = 6, turns: int = 15) -> tuple[int, int, list]:
    """Each "process" takes the lock for one conversation `turns` times; returns the most
    holders seen at once, how many turns completed, and the errors."""
    state = {"holders": 0, "most": 0, "done": 0}
    guard = threading.Lock()
    errors: list = []
    start = threading.Barrier(processes)

    def process() -> None:
        store = make_store()

        async def turns_of_one_process() -> None:
            for _ in range(turns):
                async with store.lock("household-1", wait_time_in_seconds=0.005):
                    with guard:
                        state["holders"] += 1
                        state["most"] = max(state["most"], state["holders"])
                    await asyncio.sleep(0.002)
                    with guard:
                        state["holders"] -= 1
                        state["done"] += 1

        start.wait()
        try:
            asyncio.run(turns_of_one_process())
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=process) for _ in range(processes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return state["most"], state["done"], errors


def test_rasa_loads_it_from_endpoints(endpoint):
    store = LockStore.create(endpoint)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.poll_interval == 0.005
    assert store.key_prefix.startswith(endpoint.kwargs["key_prefix"])


def test_one_holder_at_a_time_across_processes(endpoint):
    most, done, errors = hammer(lambda: LockStore.create(endpoint))
    assert errors == []
    assert done == 6 * 15
    assert most == 1
    # the queue is gone once nobody waits
    store = LockStore.create(endpoint)
    assert store.get_lock("household-1") is None
