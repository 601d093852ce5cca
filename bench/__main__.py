"""Run the benchmarks, write bench/results.json and print a table.

python -m bench                      # everything
python -m bench --only resolution    # one benchmark
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

from rich.console import Console
from rich.table import Table

BENCHMARKS = (
    "turns",
    "startup",
    "resolution",
    "catalog_scale",
    "training",
    "scans",
    "nlu",
    "speech",
    "recommender",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=BENCHMARKS, action="append")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    from recommender.machine import cpu_model, numpy_avx512

    results["machine"] = {
        "cpu": cpu_model(),
        "numpy_avx512": numpy_avx512(),  # none: rerun without them, see recommender.machine
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "run_at": datetime.now(timezone.utc).isoformat(),
    }
    console = Console(width=max(Console().width, 150))
    for name in args.only or BENCHMARKS:
        console.print(f"[bold]benchmark:[/bold] {name}")
        if name in ("turns", "startup", "catalog_scale", "training"):
            import importlib

            results[name] = importlib.import_module(f"bench.{name}").run()
        elif name == "resolution":
            from bench import resolution

            results["resolution"] = resolution.run()
        elif name == "scans":
            from bench import scans

            results["scans"] = {
                "1_worker": scans.run(workers=1),
                "2_workers_shared_subscription": scans.run(workers=2),
            }
        elif name == "nlu":
            from bench import nlu

            results["nlu"] = nlu.run()
        elif name == "speech":
            from bench import speech

            results["speech"] = speech.run()
        elif name == "recommender":
            from bench import recommender

            results["recommender"] = recommender.run()
    out.write_text(json.dumps(results, indent=2) + "\n")
    console.print(summary(results))
    console.print(f"written to {out}")
    return 0


def summary(results: dict) -> Table:
    table = Table(title=f"Dash benchmarks ({results['machine']['cores']} cores)")
    for col in ("benchmark", "figure", "value", "target"):
        table.add_column(col)
    if "resolution" in results:
        r = results["resolution"]
        for part in ("generated", "handwritten"):
            table.add_row(
                "resolution",
                f"category accuracy, {part} ({r[part]['mentions']})",
                f"{r[part]['category_accuracy']:.3f}",
                ">= 0.97",
            )
            table.add_row(
                "resolution",
                f"unrelated confident matches, {part}",
                str(r[part]["unrelated_confident_matches"]),
                "0",
            )
        table.add_row(
            "resolution",
            f"exact product, demo households ({r['households']['pairs']} pairs), rules",
            f"{r['households']['exact_product_accuracy']:.3f}",
            "",
        )
        if "learned" in r["households"]:
            table.add_row(
                "resolution",
                "exact product, demo households, trained rankers",
                f"{r['households']['learned']['exact_product_accuracy']:.3f}",
                "",
            )
        table.add_row(
            "resolution",
            "match latency p50 / p99 (ms, demo catalog)",
            f"{r['all']['match_ms_p50']} / {r['all']['match_ms_p99']}",
            "",
        )
    for setup, sc in results.get("scans", {}).items():
        if "burst" not in sc:
            continue
        for key in ("50_per_s", "200_per_s", "1000_per_s", "1500_per_s", "burst"):
            if key not in sc:
                continue
            r = sc[key]
            refused = r["sent"] - r.get("added", r["sent"])
            table.add_row(
                f"scans, {setup}",
                f"{key.replace('_per_s', '/s offered')}: throughput, ack p50/p99 ms, lost, refused",
                f"{r['throughput_per_s']}/s, {r['ack_ms_p50']}/{r['ack_ms_p99']}, {r['lost']}, "
                f"{refused}",
                ">= 1000/s; p99 < 50 ms at 200/s; 0 lost",
            )
    if "nlu" in results:
        n = results["nlu"]
        table.add_row(
            "nlu",
            f"intent accuracy, 5-fold CV ({n['examples']} examples)",
            f"{n['accuracy']:.3f}",
            "",
        )
        table.add_row("nlu", "intent weighted F1", f"{n['weighted_f1']:.3f}", "")
    if "recommender" in results:
        r = results["recommender"]
        for key, label, target in (
            ("brand_top1", "brand resolution top-1 (best baseline)", ">= 0.44"),
            ("next_basket_recall10", "next basket Recall@10 (best baseline)", ""),
        ):
            if key in r:
                table.add_row(
                    "recommender, Complete Journey",
                    label,
                    f"{r[key]:.4f} ({r[key + '_best_baseline']:.4f})",
                    target,
                )
        if "timing_auc14" in r:
            table.add_row(
                "time axis, Complete Journey",
                "repurchase AUC@14, MAE days",
                f"{r['timing_auc14']:.4f}, {r['timing_mae_days']}",
                ">= 0.74",
            )
    if "speech" in results:
        sp = results["speech"]
        for voice, v in sp["voices"].items():
            table.add_row(
                f"speech, Festival {voice}",
                "WER, intent accuracy heard / clean text, recognize ms p50",
                f"{v['wer']:.3f}, {v['intent_accuracy']:.3f} / "
                f"{v['intent_accuracy_clean_text']:.3f}, {v['recognize_ms_p50']}",
                "intent >= 0.95",
            )
        table.add_row(
            "speech",
            "out-of-scope speech turned into orders",
            str(sp["out_of_scope_turned_into_orders"]),
            "0",
        )
    _latency_rows(table, results)
    return table


def _latency_rows(table: Table, results: dict) -> None:
    """Turn latency, start-up, resolution at scale and training cost (issue 9's figures)."""
    if "turns" in results:
        t = results["turns"]
        for who in ("dash", "rasa_init"):
            r = t[who]
            seq, con, long = r["sequential"], r["concurrent_4"], r["long_conversation"]
            target = who == "dash"
            table.add_row(
                f"turns, {who.replace('_', ' ')}",
                "sequential p50 / p90 / p99 ms, msg/s",
                f"{seq['p50']} / {seq['p90']} / {seq['p99']}, {seq['messages_per_s']}",
                "p50 < 40, p99 < 100" if target else "",
            )
            table.add_row(
                f"turns, {who.replace('_', ' ')}",
                "4 concurrent p50 / p99 ms, msg/s",
                f"{con['p50']} / {con['p99']}, {con['messages_per_s']}",
                "",
            )
            table.add_row(
                f"turns, {who.replace('_', ' ')}",
                f"turn {long['turns']} / turn 1 (median of 10)",
                f"{long['growth']}x ({long['first_10_median_ms']} -> "
                f"{long['last_10_median_ms']} ms)",
                "<= 1.5x" if target else "",
            )
            table.add_row(
                f"turns, {who.replace('_', ' ')}",
                "Rasa start-up s, Rasa RSS MB",
                f"{r['servers']['start_up_s']}, {r['servers']['rasa']['rss_mb']}",
                "",
            )
    if "startup" in results:
        for run in ("first_run", "restart"):
            r = results["startup"][run]
            table.add_row(
                "make demo",
                f"{run.replace('_', ' ')}: first answer s, all services s",
                f"{r['first_answer_s']}, {r['all_services_up_s']}",
                "first answer < 30 s" if run == "restart" else "",
            )
    if "catalog_scale" in results:
        c = results["catalog_scale"]
        for key, label in (
            ("indexed", "matcher (trigram index)"),
            ("every_term", "matcher scoring every term"),
            ("naive_wratio", "naive WRatio loop"),
        ):
            r = c[key]
            table.add_row(
                "resolution, 92k catalog",
                f"{label}: p50 / p99 ms, accuracy",
                f"{r['p50']} / {r['p99']}, {r['accuracy']}",
                "p99 < 5 ms" if key == "indexed" else "",
            )
    if "training" in results:
        for key in ("lightfm", "als"):
            r = results["training"][key]
            table.add_row(
                "training, full Complete Journey",
                f"{key}: seconds, peak MB above data",
                f"{r['train_s']}, {r['peak_above_loaded_data_mb']}",
                "",
            )
        if "dash_train" in results["training"]:
            r = results["training"]["dash_train"]
            table.add_row(
                "training, full Complete Journey",
                "dash train: recommender / all seconds",
                f"{r['recommender_s']} / {r['train_s']}",
                "recommender < 120 s",
            )
        if "reload" in results["training"].get("dash_train", {}):
            r = results["training"]["dash_train"]["reload"]
            a, b = r["score_alone"], r["score_while_loading"]
            table.add_row(
                "reloading the trained models",
                "load s; scoring p50 / p99 / max ms alone -> while a reload runs beside",
                f"{r['load_s']}; {a['p50_ms']} / {a['p99_ms']} / {a['max_ms']} -> "
                f"{b['p50_ms']} / {b['p99_ms']} / {b['max_ms']}",
                "",
            )


if __name__ == "__main__":
    import sys

    from recommender.machine import rerun_with_portable_floats

    # The recommender and resolution benchmarks' figures are then the same on every machine.
    rerun_with_portable_floats("bench", sys.argv[1:])
    raise SystemExit(main())
