"""Witnesses' cost (``tohyo bench witness``, docs/researchers.md):

* **Per head**, as the log grows to 10^6 entries: what one witness spends on a checkpoint
  that extends the last one it cosigned by ``batch`` entries — the board's signature, the
  consistency proof (RFC 9162 §2.1.4.2), the cosignature and the durable state write (an
  fsync) — through :meth:`watch.witness.Witness.add_checkpoint`, with each part timed
  alone too. The log is held in memory (the proofs are made from it; the board makes them
  from its database, which ``tohyo bench log`` measures).
* **The delay a receipt waits** for a quorum of cosignatures while entries are appended at
  ``rate`` a second: a real board (SQLite) with two witnesses following its HTTP API
  (:class:`watch.witness.HttpBoard`, waitress on loopback), the time from an entry's
  commit until a head that covers it is cosigned by both. The entries are small events,
  not ballots: the delay depends on the offer interval and the witnesses' polling, not on
  what an entry holds (ballot acceptance is ``tohyo bench board``).
"""

from __future__ import annotations

import json
import pathlib
import statistics
import tempfile
import threading
import time
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bulletin.store import frontier_root
from e2e.checkpoint import (
    Checkpoint,
    cosign,
    parse_note,
    sign_checkpoint,
    verify_board_signature,
)
from e2e.merkle import consistency_proof, leaf_hash, node_hash, verify_consistency
from watch.witness import Witness, WitnessState, public_bytes

ORIGIN = "bench.example/tohyo"


class _Tree:
    """A log of ``n`` leaves in memory: every level of the tree, for roots and proofs."""

    def __init__(self, n: int) -> None:
        level = [leaf_hash(b"%d" % i) for i in range(n)]
        self.levels = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self.levels.append(level)

    def node(self, lv: int, i: int) -> bytes:
        return self.levels[lv][i]

    def root(self, size: int) -> bytes:
        # The root of the first ``size`` leaves: the perfect subtrees of size's binary
        # digits (largest first), folded as the board folds its frontier.
        parts = []
        start = 0
        for lv in reversed(range(size.bit_length())):
            if size >> lv & 1:
                parts.append(self.node(lv, start >> lv))
                start += 1 << lv
        return frontier_root(parts)


def _ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1e3, 3)


def per_head(sizes: tuple[int, ...], batch: int = 100, repeat: int = 20) -> list[dict[str, Any]]:
    """A witness's cost per head at each log size (median of ``repeat`` heads)."""
    board_key = Ed25519PrivateKey.generate()
    board_pub = public_bytes(board_key)
    work = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-bench-witness-"))
    tree = _Tree(max(sizes) + batch * repeat)
    rows = []
    for n in sizes:
        state = WitnessState(work / f"state-{n}.json")
        w = Witness("w.example/bench", Ed25519PrivateKey.generate(), state, {ORIGIN: board_pub})
        first = sign_checkpoint(Checkpoint(ORIGIN, n, tree.root(n)), board_key).render()
        w.add_checkpoint(0, [], first)
        total, sig, cons, cosig, proof_len = [], [], [], [], 0
        old = n
        for _ in range(repeat):
            new = old + batch
            note = sign_checkpoint(Checkpoint(ORIGIN, new, tree.root(new)), board_key).render()
            proof = consistency_proof(old, new, tree.node)
            proof_len = len(proof)
            t = time.perf_counter()
            w.add_checkpoint(old, proof, note)
            total.append(time.perf_counter() - t)
            parsed = parse_note(note)
            t = time.perf_counter()
            verify_board_signature(parsed, ORIGIN, board_pub)
            sig.append(time.perf_counter() - t)
            t = time.perf_counter()
            verify_consistency(old, new, tree.root(old), tree.root(new), proof)
            cons.append(time.perf_counter() - t)
            t = time.perf_counter()
            cosign(parsed.text, "w.example/bench", w.private_key, int(time.time()))
            cosig.append(time.perf_counter() - t)
            old = new
        rows.append(
            {
                "log_entries": n,
                "new_entries_per_head": batch,
                "consistency_proof_hashes": proof_len,
                "per_head_ms": _ms(total),
                "board_signature_ms": _ms(sig),
                "consistency_check_ms": _ms(cons),
                "cosign_ms": _ms(cosig),
                "state_write_ms": round(
                    _ms(total) - _ms(sig) - _ms(cons) - _ms(cosig), 3
                ),  # the rest: parsing, the state's lock, write and fsync
            }
        )
    return rows


def receipt_delay(
    rate: float = 100.0, seconds: float = 20.0, interval: float = 1.0, offer: float = 1.0
) -> dict[str, Any]:
    """How long an entry appended at ``rate`` a second waits for a head cosigned by both
    witnesses (polling every ``interval`` s; the board's offer moves on every ``offer`` s
    or when both have cosigned)."""
    import waitress.server

    from benchmarks.board import _free_port
    from e2e.election import Election, base_hash
    from e2e.group import TEST
    from e2e.rng import SystemRng
    from sim import witnesses
    from sim.demo import EXAMPLE, load_manifest
    from sim.rehearsal import open_in_period, pinned
    from trustees.ceremony import run_ceremony
    from watch.witness import HttpBoard
    from web.api import create_app

    work = pathlib.Path(tempfile.mkdtemp(prefix="tohyo-bench-receipt-"))
    manifest = pinned(load_manifest(EXAMPLE), work / "board.key")
    wits = witnesses.create(work / "witnesses")
    manifest = witnesses.witnessed(manifest, wits)
    h_p, _ = base_hash(TEST, manifest)
    _, publics = run_ceremony(TEST, h_p, manifest.trustees, manifest.quorum, SystemRng())
    election = Election(TEST, manifest, TEST.product(t.key for t in publics))
    board, _ = open_in_period(
        f"sqlite:///{work / 'board.db'}", work / "board.key", election, publics
    )
    board.cosigning.interval = offer
    port = _free_port()
    server = waitress.server.create_server(
        create_app(board), host="127.0.0.1", port=port, threads=8
    )
    threading.Thread(target=server.run, daemon=True).start()
    committed: dict[int, float] = {}  # entry index → when its head was committed
    done = threading.Event()
    payload = json.dumps({"format": "tohyo/1", "name": "bench", "type": "BoardEvent"}).encode()

    def appender() -> None:
        # Batches of ten every tenth of a second at 100/s, as the batcher appends.
        per = max(1, int(rate / 10))
        start = time.monotonic()
        k = 0
        while time.monotonic() - start < seconds:
            with board.store.write() as conn:
                for _ in range(per):
                    a = board._append(conn, "event", payload)
                board.sign_head(conn, a)
            now = time.monotonic()
            for i in range(a.index - per + 1, a.index + 1):
                committed[i] = now
            k += 1
            time.sleep(max(0.0, start + k * per / rate - time.monotonic()))
        done.set()

    source = HttpBoard(f"http://127.0.0.1:{port}")
    delays: list[float] = []
    seen = 0
    with witnesses.running(board, wits, source=source, interval=interval, alert=print):
        t = threading.Thread(target=appender)
        t.start()
        deadline = None
        while True:
            w = board.cosigning.witnessed_size() or 0
            now = time.monotonic()
            for i in range(seen, w):
                if i in committed:
                    delays.append(now - committed[i])
            seen = max(seen, w)
            if done.is_set():
                deadline = deadline or now + 3 * (interval + offer) + 5
                if seen >= board.store.size() or now > deadline:
                    break
            time.sleep(0.005)
        t.join()
    server.close()
    delays.sort()
    waited = len(delays)
    return {
        "rate_per_s": rate,
        "seconds": seconds,
        "witness_poll_s": interval,
        "offer_interval_s": offer,
        "entries": len(committed),
        "witnessed": waited,
        "delay_p50_s": round(delays[waited // 2], 3) if delays else None,
        "delay_p99_s": round(delays[min(waited - 1, int(waited * 0.99))], 3) if delays else None,
        "delay_max_s": round(delays[-1], 3) if delays else None,
    }
