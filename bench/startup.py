"""Time from `make demo` to the first answered message, and what the demo's processes use.

`make demo` runs twice in a scratch directory (its own SQLite store and recommender models,
free ports, the project's Rasa model directory): the first run creates the store and trains
what is missing (set-up), the second starts with everything present, which is the figure users
meet every day (target: first answer within 30 s). Each run is timed from the `make` call to
the first REST webhook answer to "hello", and to the banner that says everything is up.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from shop.config import PROJECT_ROOT
from shop.processes import free_port


def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


def answered(webhook: str) -> bool:
    body = json.dumps({"sender": "bench-startup", "message": "hello"}).encode()
    req = urllib.request.Request(webhook, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return bool(json.load(res))
    except (OSError, ValueError):
        return False


def demo_run(tmp: Path, label: str, timeout: float = 900) -> dict:
    ports = {name: free_port() for name in ("port", "rasa", "actions", "mqtt", "assist")}
    args = (
        f"--port {ports['port']} --rasa-port {ports['rasa']} --actions-port {ports['actions']}"
        f" --mqtt-port {ports['mqtt']} --assist-port {ports['assist']}"
    )
    env = {
        **os.environ,
        "DASH_DATABASE_URL": f"sqlite:///{tmp / 'demo.db'}",
        "DASH_MODELS_DIR": str(tmp / "recommender"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DASH_MQTT_URL", None)
    log = open(tmp / f"demo-{label}.log", "wb")  # noqa: SIM115 - closed below
    start = time.perf_counter()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "demo", f"DEMO_ARGS={args}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    webhook = f"http://127.0.0.1:{ports['rasa']}/webhooks/rest/webhook"
    first_answer = banner = None
    phases: dict[str, float] = {}  # each line the demo prints, and when it appeared
    try:
        while time.perf_counter() - start < timeout:
            if proc.poll() is not None:
                raise RuntimeError(f"make demo exited early; see {log.name}")
            if first_answer is None and answered(webhook):
                first_answer = time.perf_counter() - start
            for line in Path(log.name).read_text(errors="replace").splitlines():
                if (
                    line[:1].isalpha()
                    and "%|" not in line
                    and "Warning" not in line
                    and not line.startswith("Implementing")
                ):
                    phases.setdefault(line[:70], round(time.perf_counter() - start, 1))
            if banner is None and "Dash demo is running (Ctrl-C stops it)" in phases:
                banner = time.perf_counter() - start
            if first_answer is not None and banner is not None:
                break
            time.sleep(0.2)
        else:
            raise TimeoutError(f"make demo did not answer within {timeout:.0f} s")
        memory = _process_memory(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    return {
        "first_answer_s": round(first_answer, 1),
        "all_services_up_s": round(banner, 1),
        "first_answer_after_lines": {k: v for k, v in phases.items() if v <= first_answer},
        "memory": memory,
    }


def _process_memory(root_pid: int) -> dict[str, dict[str, float]]:
    """RSS of the demo's processes (every descendant of `make`), named by what they run."""
    parent: dict[int, int] = {}
    for proc_dir in Path("/proc").iterdir():
        if proc_dir.name.isdigit():
            try:
                stat = (proc_dir / "stat").read_text()
            except OSError:
                continue
            parent[int(proc_dir.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    family, grew = {root_pid}, True
    while grew:
        more = {pid for pid, ppid in parent.items() if ppid in family} - family
        family |= more
        grew = bool(more)
    out: dict[str, dict[str, float]] = {}
    for pid in family:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            out[_role(cmd)] = rss_mb(pid)
        except OSError:
            continue
    return {k: v for k, v in sorted(out.items()) if k != "other"}


def _role(cmd: str) -> str:
    for needle, role in (
        ("bot.rasa_server", "rasa_server"),
        ("rasa_sdk", "action_server"),
        ("mqtt_bridge", "bridge"),
        ("amqtt", "broker"),
        ("wyoming", "wyoming"),
        ("dash demo", "store_api_and_web"),
    ):
        if needle in cmd:
            return role
    return "other"


def run() -> dict:
    with tempfile.TemporaryDirectory(prefix="dash-bench-startup-") as name:
        tmp = Path(name)
        setup = demo_run(tmp, "first")
        again = demo_run(tmp, "again")
    return {
        "workload": (
            f"`make demo` on {os.cpu_count()} cores, SQLite store in a scratch directory, "
            "embedded broker; timed to the first REST answer to 'hello' and to the "
            "'Dash demo is running' banner. first_run creates the store and trains what is "
            "missing; restart has everything present"
        ),
        "cores": os.cpu_count(),
        "first_run": setup,
        "restart": again,
    }
