"""Assistant turn latency through Rasa's REST webhook, beside an unmodified `rasa init` bot.

Both assistants run as real processes started in this run. Dash answers with its custom
actions and writes to the store (a seeded demo SQLite store): each conversation cycles through
ordering ketchup, changing the quantity, reading the cart, checking out and confirming (three
store writes per cycle). The `rasa init` mood bot (trained here, default config, no custom
actions) answers its own greeting/mood cycle. Figures, per assistant:

- sequential: one client, one message at a time, a new conversation per cycle;
- concurrent: 4 clients, each its own conversations, all at once;
- long conversation: one sender for ``long_turns`` turns; the median of turns 1-10 against the
  median of the last 10 turns shows whether a conversation slows down as it grows.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from tqdm import tqdm

from bench.startup import rss_mb
from shop.processes import ProcessGroup, free_port, http_ok

DASH_CYCLE = ("order ketchup", "make it two", "what's in my cart", "check out", "yes")
MOOD_CYCLE = ("hello", "I am sad", "yes", "goodbye")
WINDOW = 10


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    ordered = sorted(ms)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)

    return {"n": len(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99)}


class Client:
    """Posts messages to a REST webhook and times each answer."""

    def __init__(self, webhook: str, metadata: Callable[[int], dict] | None = None) -> None:
        self.webhook = webhook
        self.metadata = metadata or (lambda _n: {})

    def say(self, sender: str, text: str, conversation: int) -> float:
        body = {"sender": sender, "message": text, "metadata": self.metadata(conversation)}
        req = urllib.request.Request(
            self.webhook,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        start = time.perf_counter()
        with urllib.request.urlopen(req, timeout=60) as res:
            replies = json.load(res)
        elapsed = (time.perf_counter() - start) * 1000
        if not replies:
            raise RuntimeError(f"no answer to {text!r} from {self.webhook}")
        return elapsed


def conversations(
    client: Client, cycle: Sequence[str], count: int, prefix: str, bar: tqdm
) -> list[float]:
    out = []
    for n in range(count):
        for text in cycle:
            out.append(client.say(f"{prefix}-{n}", text, n))
            bar.update()
    return out


def measure(client: Client, cycle: Sequence[str], *, turns: int, long_turns: int, label: str):
    """The three workloads against one running assistant."""
    per_cycle = len(cycle)
    cycles = max(1, turns // per_cycle)
    with tqdm(total=cycles * per_cycle * 2, desc=f"{label}: warm-up + sequential") as bar:
        conversations(client, cycle, cycles, "warm", bar)  # first requests load lazily
        start = time.perf_counter()
        seq = conversations(client, cycle, cycles, "seq", bar)
        seq_s = time.perf_counter() - start
    results: list[list[float]] = [[] for _ in range(4)]
    with tqdm(total=cycles * per_cycle, desc=f"{label}: 4 concurrent") as bar:

        def worker(i: int) -> None:
            results[i] = conversations(client, cycle, max(1, cycles // 4), f"con{i}", bar)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        con_s = time.perf_counter() - start
    concurrent = [ms for r in results for ms in r]
    long: list[float] = []
    for turn in tqdm(range(long_turns), desc=f"{label}: one long conversation"):
        long.append(client.say("long", cycle[turn % per_cycle], 0))
    first = statistics.median(long[:WINDOW])
    last = statistics.median(long[-WINDOW:])
    return {
        "sequential": {**percentiles(seq), "messages_per_s": round(len(seq) / seq_s, 1)},
        "concurrent_4": {
            **percentiles(concurrent),
            "messages_per_s": round(len(concurrent) / con_s, 1),
        },
        "long_conversation": {
            "turns": long_turns,
            "first_10_median_ms": round(first, 2),
            "last_10_median_ms": round(last, 2),
            "growth": round(last / first, 2),
            "every_turn_ms": [round(x, 1) for x in long],
        },
    }


def train_rasa_init(directory: Path) -> Path:
    """`rasa init --no-prompt`: the project and model every Rasa user starts from."""
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(directory)],
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        stdout=subprocess.DEVNULL,
    )
    models = sorted((directory / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError("rasa init trained no model")
    return models[-1]


def start_rasa_init(directory: Path, model: Path, group: ProcessGroup) -> str:
    port = free_port()
    cmd = [sys.executable, "-m", "rasa", "run", "--model", str(model), "-i", "127.0.0.1"]
    cmd += ["-p", str(port), "--enable-api"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    group.spawn("rasa-init", cmd, env, cwd=directory)
    url = f"http://127.0.0.1:{port}"
    group.wait_until(lambda: http_ok(f"{url}/status"), "the rasa init server", 300)
    return f"{url}/webhooks/rest/webhook"


def server_figures(start_s: float, pids: dict[str, int]) -> dict:
    """Start-up time and, after the workloads, each process's memory."""
    return {"start_up_s": round(start_s, 1), **{name: rss_mb(pid) for name, pid in pids.items()}}


def start_dash(tmp: Path):  # noqa: ANN201 - (bot.runtime.Assistant, seconds)
    """Dash over a freshly seeded demo store, with the project's trained model; also how long
    the two servers took to answer."""
    from bot.runtime import Assistant, AssistantConfig
    from bot.training import export_catalog, train_rasa
    from shop.config import Settings
    from shop.demo.generator import Params
    from shop.demo.seed import seed_demo
    from shop.migrate import upgrade
    from shop.store import Store

    settings = Settings(database_url=f"sqlite:///{tmp / 'bench.db'}")
    upgrade(settings)
    store = Store(settings)
    with store.session() as s:
        seed_demo(s, Params())
        export_catalog(s)
    store.dispose()
    assistant = Assistant(
        AssistantConfig(
            model=train_rasa(),
            database_url=settings.database_url,
            rasa_port=free_port(),
            actions_port=free_port(),
            log_dir=tmp / "logs",
            models_dir=tmp / "models",
            run_dir=tmp / "run",
        )
    )
    start = time.perf_counter()
    assistant.start(timeout=300)
    return assistant, time.perf_counter() - start


def run(turns: int = 200, long_turns: int = 200) -> dict:
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory(prefix="dash-bench-turns-") as name:
        tmp = Path(name)
        start = time.perf_counter()
        baseline_model = train_rasa_init(tmp / "rasa-init")
        baseline_train_s = round(time.perf_counter() - start, 1)
        out: dict = {
            "workload": (
                f"REST webhook on loopback, {cores} cores; Dash: cycle {list(DASH_CYCLE)} "
                "(custom actions, 3 store writes per cycle, SQLite demo store); rasa init: "
                f"cycle {list(MOOD_CYCLE)}; sequential {turns} turns in new conversations, "
                f"4 concurrent clients, one conversation of {long_turns} turns"
            ),
            "cores": cores,
            "rasa_init_train_s": baseline_train_s,
        }
        assistant, up_s = start_dash(tmp)
        try:
            # REST metadata names the household (bot/actions/context.py: trusted channel);
            # conversations spread over the 60 demo households.
            client = Client(assistant.webhook, lambda n: {"household_id": 1 + n % 60})
            out["dash"] = measure(
                client, DASH_CYCLE, turns=turns, long_turns=long_turns, label="dash"
            )
            rasa, actions = (p.pid for p in assistant.group.procs[::-1])
            out["dash"]["servers"] = server_figures(up_s, {"rasa": rasa, "actions": actions})
        finally:
            assistant.stop()
        group = ProcessGroup(tmp / "logs")
        try:
            start = time.perf_counter()
            webhook = start_rasa_init(tmp / "rasa-init", baseline_model, group)
            up_s = time.perf_counter() - start
            out["rasa_init"] = measure(
                Client(webhook), MOOD_CYCLE, turns=turns, long_turns=long_turns, label="rasa init"
            )
            out["rasa_init"]["servers"] = server_figures(up_s, {"rasa": group.procs[0].pid})
        finally:
            group.stop()
        shutil.rmtree(tmp / "rasa-init", ignore_errors=True)
    out["ratios_dash_over_rasa_init"] = {
        key: round(out["dash"]["sequential"][key] / out["rasa_init"]["sequential"][key], 2)
        for key in ("p50", "p99")
    } | {
        "long_conversation_growth": round(
            out["dash"]["long_conversation"]["growth"]
            / out["rasa_init"]["long_conversation"]["growth"],
            2,
        )
    }
    return out
