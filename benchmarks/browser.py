"""The booth's encryption in a real browser: ``python -m benchmarks.browser [GROUP] [REPEAT]``.

Serves web/static and the harness page (benchmarks/browser_harness/, under a strict CSP:
scripts from the server only, no inline script) from a loopback HTTP server, opens it in
headless Debian Chromium through Playwright, and drives the booth's Web Worker
(web/static/js/encrypt-worker.js): ``setup`` builds the fixed-base tables, then a 3×3
ballot (one option in each contest of the Tsukuba manifest) is encrypted REPEAT times.
Times are taken on the page, around each request and its reply (what the voter waits).
One of the ballots is decoded and verified by Python's verifier before anything is
reported.

Needs ``pip install playwright`` and Chromium at /usr/bin/chromium (``apt-get install
chromium``); Playwright's own browser downloads are not used.
"""

from __future__ import annotations

import json
import mimetypes
import pathlib
import statistics
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from e2e import codec
from e2e.ballot import EncryptedBallot, verify_ballot
from e2e.election import Election
from e2e.group import GROUPS
from e2e.manifest import manifest_from_json
from e2e.rng import SystemRng

ROOT = pathlib.Path(__file__).resolve().parents[1]
MOUNTS = {
    "/static/": ROOT / "web" / "static",
    "/harness/": pathlib.Path(__file__).resolve().parent / "browser_harness",
}
EXAMPLE = ROOT / "examples" / "tsukuba-2025.json"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# The booth's policy: scripts and workers from this origin only, nothing inline, no eval.
CSP = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _handler(election_json: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/election.json":
                return self._send(200, election_json, "application/json")
            for prefix, base in MOUNTS.items():
                if path.startswith(prefix):
                    file = (base / path[len(prefix) :]).resolve()
                    # Refuse anything outside the mount (../ in the URL).
                    if file.is_relative_to(base) and file.is_file():
                        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                        return self._send(200, file.read_bytes(), kind)
            self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Content-Security-Policy", CSP)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the benchmark's output to its result

    return Handler


@contextmanager
def _serve(election_json: bytes) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(election_json))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _percentile(samples: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (statistics.quantiles' 'inclusive')."""
    s = sorted(samples)
    at = fraction * (len(s) - 1)
    lo = int(at)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (at - lo)


def run_browser(group_name: str, repeat: int = 20, window: int | None = None) -> dict[str, Any]:
    """Time the booth worker in headless Chromium for the named group ('standard', 'test').

    ``window``: bits per digit of the fixed-base tables (default: the group's in
    tohyo-crypto.js). Returns the table build time, the median, 10th and 90th percentile
    of the encryption time of a 3×3 ballot (ms) and Chromium's version. Raises if the
    browser reports an error or Python's verifier refuses the browser's ballot.
    """
    from playwright.sync_api import sync_playwright

    if repeat < 1:
        raise ValueError("repeat must be at least 1")
    group = GROUPS[group_name]
    manifest = manifest_from_json(EXAMPLE.read_text(encoding="utf-8"))
    election = Election(group, manifest, group.g_pow(group.random_scalar(SystemRng())))
    document = {
        "state": "open",
        "manifest": codec.to_document(election.manifest),
        "parameters": codec.to_document(election.parameters()),
    }
    query = f"repeat={repeat}" + (f"&window={window}" if window else "")
    with _serve(json.dumps(document, ensure_ascii=False).encode("utf-8")) as base:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                version = browser.version
                page = browser.new_page()
                page.goto(f"{base}/harness/harness.html?{query}")
                result = page.locator("#result")
                result.filter(has_text="{").wait_for(timeout=600_000)
                out = json.loads(result.text_content() or "{}")
            finally:
                browser.close()
    if "error" in out:
        raise RuntimeError(f"the browser reported: {out['error']}")
    ballot = codec.decode(out["ballot"].encode("utf-8"), EncryptedBallot, group)
    verify_ballot(election, ballot)
    if len(ballot.contests) != len(manifest.contests):
        raise RuntimeError("the browser's ballot does not cover every contest")
    times = out["encrypt_ms"]
    return {
        "table_build_ms": round(out["table_build_ms"], 1),
        "encrypt_ms_median": round(statistics.median(times), 1),
        "encrypt_ms_p10": round(_percentile(times, 0.1), 1),
        "encrypt_ms_p90": round(_percentile(times, 0.9), 1),
        "chromium_version": version,
    }


def main(argv: list[str]) -> None:
    group_name = argv[0] if argv else "standard"
    repeat = int(argv[1]) if len(argv) > 1 else 20
    window = int(argv[2]) if len(argv) > 2 else None
    print(json.dumps({"group": group_name, **run_browser(group_name, repeat, window)}))


if __name__ == "__main__":
    main(sys.argv[1:])
