"""The pages for voters and observers: booth, verify my ballot, board browser, results,
the record's zip, a rehearsal's card files and QR codes of this site's links.

The booth and the verify page are driven by ``web/static/js`` (the crypto runs in the
voter's browser); the board browser and the results are rendered here, from the public
log only, each entry read through :class:`e2e.board.Entry`. Times are shown in the
election's time zone (:func:`web.i18n.election_zone`). No page shows a voter pseudonym or
anything else about who voted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import io
import json
import logging
import os
import pathlib
import stat
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_file,
    send_from_directory,
    url_for,
)

from bulletin.board import Board, BoardError, final_checkpoint, write_record_zip
from bulletin.operational import SignRequests
from bulletin.refusals import Refusal
from e2e.board import Entry
from e2e.manifest import Manifest
from e2e.shortcode import short
from e2e.tally import Results
from web import i18n
from web.api import LOG_MAX, ascii_int
from web.status import status_of
from web.turnout import turnout

bp = Blueprint("pages", __name__)

PAGE = 50


def _board() -> Board:
    return current_app.config["BOARD"]


def manifest_of(board: Board) -> Manifest | None:
    """The board's manifest, or None before the election is set up (shared with admin)."""
    try:
        return board.manifest
    except BoardError:
        return None


@bp.app_context_processor
def _globals() -> dict[str, Any]:
    def js_texts() -> dict[str, str]:
        return {k[3:]: i18n.t(k) for k in i18n.keys("js.")}

    return {"js_texts": js_texts}


@bp.get("/")
def home() -> str:
    b = _board()
    return render_template("home.html", manifest=manifest_of(_board()), state=b.state())


@bp.get("/booth")
def booth() -> str:
    b = _board()
    site = current_app.config["SITE"]
    return render_template(
        "booth.html",
        manifest=manifest_of(_board()),
        state=b.state(),
        demo_cards=site.demo_cards,
        signer_url=site.signer_url,
    )


@bp.get("/verify")
def verify() -> str:
    return render_template("verify.html", code=request.args.get("code", ""))


@bp.get("/sign/<rid>")
def sign_request(rid: str) -> tuple[str, int]:
    """The hand-off's link as a person sees it (scanned with a phone's camera, or opened on
    a device without the signing app): what the request is, the code to compare with the
    voting screen, what to use and how, and a warning against requests one did not start.
    A signing app that claims ``/sign/*`` links (an app link) opens the same id itself and
    reads ``/api/sign-requests/<id>``. A request that can no longer be signed says why and
    what to do, before anyone reaches for the card."""
    board = _board()
    manifest = manifest_of(board)
    refusal: Refusal | None = None
    code = ""
    try:
        req = SignRequests(board.store).get(rid, datetime.now(UTC))
        live = getattr(board.authenticator, "challenge_live", None)
        if live is not None and not live(req.challenge):
            raise Refusal("request_stale")
        code = short(req.code)
    except Refusal as e:
        refusal = e
    return render_template(
        "sign.html",
        manifest=manifest,
        refusal=refusal,
        short_code=code,
        status_url=url_for("signing.status", rid=rid),
    ), (status_of(refusal) if refusal else 200)


# --- the board browser ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One log entry as the board browser shows it: nothing about the voter."""

    index: int
    kind: str
    time: str
    code: str
    contests: tuple[str, ...]


def _row(data: bytes, manifest: Manifest | None) -> Row:
    entry = Entry(data)
    code, contests = "", ()
    if entry.kind in ("ballot", "challenged"):
        code = entry.confirmation_code
        if manifest is not None:
            contests = tuple(i18n.pick(manifest.contest(ci).title) for ci in entry.contests)
    return Row(entry.index, entry.kind, entry.time, code, contests)


def activity_chart(board: Board, manifest: Manifest) -> dict[str, Any]:
    """Days (in the election's time zone) × contests: cast ballots, with bar widths in
    percent of the busiest cell."""
    zone = i18n.election_zone(manifest)
    counts = Counter(
        {(day.strftime("%Y-%m-%d"), ci): n for (day, ci), n in turnout(board, zone).items()}
    )
    days = sorted({d for d, _ in counts})
    top = max(counts.values(), default=0)
    contests = range(1, len(manifest.contests) + 1)  # contest indices start at 1
    rows = [
        {
            "day": d,
            "cells": [
                {"n": counts[(d, ci)], "width": round(100 * counts[(d, ci)] / top, 1) if top else 0}
                for ci in contests
            ],
        }
        for d in days
    ]
    totals = [sum(counts[(d, ci)] for d in days) for ci in contests]
    return {"rows": rows, "totals": totals}


@bp.get("/board")
def board() -> str:
    b = _board()
    manifest = manifest_of(_board())
    size = b.store.size()
    code = request.args.get("code", "").strip().upper()
    found: Row | None = None
    not_found = False
    if code:
        row = None
        if len(code) == 64 and all(ch in "0123456789ABCDEF" for ch in code):
            hit = b.store.ballot_by("code", bytes.fromhex(code))
            row = b.store.entry(hit.entry) if hit is not None else None
        if row is None:
            not_found = True
        else:
            found = _row(row, manifest)
    # ASCII digits only, and bounded: "²" passes str.isdigit() and int() refuses it.
    start = ascii_int(request.args.get("start", ""), 0, LOG_MAX)
    first = start if start is not None else max(size - PAGE, 0)
    first = min(first, max(size - 1, 0))
    rows = [_row(d, manifest) for _, _, d in b.store.entries(first, PAGE)]
    heads = [json.loads(d) for d in b.store.tree_heads(max(size - 10, 0), 10)]
    chart = activity_chart(b, manifest) if manifest is not None else None
    return render_template(
        "board.html",
        manifest=manifest,
        size=size,
        rows=rows,
        first=first,
        page=PAGE,
        heads=list(reversed(heads)),
        code=code,
        found=found,
        not_found=not_found,
        chart=chart,
    )


# --- results ------------------------------------------------------------------------------


@bp.get("/results")
def results() -> str:
    b = _board()
    manifest = manifest_of(_board())
    rows = b.store.kinds(["results"])
    res = Entry(rows[0][2]).decode(Results) if rows else None
    tables = []
    if res is not None and manifest is not None:
        for c, contest in zip(res.contests, manifest.contests, strict=True):
            top = max((o.votes for o in c.options), default=0)
            labels = {o.id: o.label for o in contest.options}
            # With one choice a ballot, what the options did not get are the blank ballots
            # (白票); with several, the totals cannot tell them apart.
            chosen = sum(o.votes for o in c.options)
            blank = c.ballots - chosen if contest.limit == 1 else None
            tables.append(
                {
                    "title": contest.title,
                    "ballots": c.ballots,
                    "limit": contest.limit,
                    "blank": blank,
                    "blank_share": round(100 * blank / c.ballots, 1)
                    if blank is not None and c.ballots
                    else 0.0,
                    "options": [
                        {
                            "label": labels[o.option],
                            "votes": o.votes,
                            "width": round(100 * o.votes / top, 1) if top else 0,
                            "share": round(100 * o.votes / c.ballots, 1) if c.ballots else 0.0,
                        }
                        for o in c.options
                    ],
                }
            )
    return render_template(
        "results.html", manifest=manifest, results=res, tables=tables, state=b.state()
    )


_ZIP_LOCK = threading.Lock()
# The zip being written by this process, per cache directory: one at a time, so that a
# cosignature that arrives during a city's build starts no second build of gigabytes
# beside it. Between the processes of a machine, an flock on the cache does the same.
_ZIP_BUILDS: dict[pathlib.Path, threading.Thread] = {}
#: How long a request waits for a zip being written before it answers "try again later".
ZIP_WAIT_SECONDS = 5.0
#: What that answer's Retry-After says, in seconds.
ZIP_RETRY_AFTER = "30"


def record_cache(b: Board) -> pathlib.Path:
    """The directory this machine keeps the record's zip in.

    One for every process of the machine: N workers write a city's zip once, not N times,
    and a process started again finds it. (A directory of each process's own was never
    removed, so every restart left gigabytes behind in the temporary directory.) It is
    ``tohyo serve --record-cache`` if given (``SiteSettings.record_cache``); else one in the
    system's temporary directory, named by an HMAC of the election's H_E under the site's
    secret key, which every process of the site shares: a name other users of the machine
    cannot know, so they cannot make it first and put a zip of their own in it. A directory
    of that name that is not this user's alone is refused all the same."""
    given = current_app.config.get("RECORD_CACHE") or current_app.config["SITE"].record_cache
    if given:
        path = pathlib.Path(given)
        path.mkdir(parents=True, exist_ok=True)
        return path
    tag = hmac.new(
        current_app.secret_key, b"tohyo/record-cache/v1\0" + bytes(b.election.h_e), "sha256"
    ).hexdigest()[:32]
    path = pathlib.Path(tempfile.gettempdir()) / f"tohyo-record-{tag}"
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = path.lstat()
    if not (stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o022):
        raise RuntimeError(
            f"{path} is not a directory of this user's alone: not used for the record's zip "
            "(tohyo serve --record-cache names another)"
        )
    return path


def _zip_path(b: Board, cache: pathlib.Path) -> pathlib.Path:
    """The zip of the log as it stands: named by its size and a digest of its signed head
    and checkpoint. The size alone does not name it: the witnesses cosign the results' head
    after it is posted, so a zip built in between carries a checkpoint short of their
    quorum, which the verifier refuses; each new cosignature names a new zip."""
    size = b.store.size()
    digest = hashlib.sha256((b.store.tree_head() or b"") + (final_checkpoint(b, size) or b""))
    return cache / f"election-record-{size}-{digest.hexdigest()[:16]}.zip"


def _build_zip(b: Board, cache: pathlib.Path) -> None:
    """Write the zip of the log as it stands, then remove the others, holding an flock on
    the cache directory: one process of the machine writes at a time, and one that waited
    finds the zip there instead of writing it again.

    The zip is written to a ``.part`` file of this writer's own, synced and renamed: even
    without the lock (a file system whose flock is not shared) no writer renames another's
    half-written file, and a power cut does not leave a short zip under the final name,
    which would be served from then on."""
    try:
        fd = os.open(cache, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # released when the descriptor is closed
            path = _zip_path(b, cache)  # the state now, which a waiting request may not know
            if not path.exists():
                for part in cache.glob("*.part"):  # a writer that died left it
                    part.unlink(missing_ok=True)
                handle, name = tempfile.mkstemp(dir=cache, prefix=path.name + ".", suffix=".part")
                os.close(handle)
                part = pathlib.Path(name)
                write_record_zip(b, part)
                with open(part, "rb") as f:
                    os.fsync(f.fileno())
                part.replace(path)
                os.fsync(fd)  # the rename, in the directory
            with _ZIP_LOCK:
                for old in cache.glob("election-record-*.zip"):
                    if old != path:
                        old.unlink(missing_ok=True)
        finally:
            os.close(fd)
    except Exception:  # the next request starts it again; the log says why this one failed
        logging.getLogger(__name__).exception("the record's zip could not be written")
    finally:
        with _ZIP_LOCK:
            _ZIP_BUILDS.pop(cache, None)


@bp.get("/record.zip")
def record_zip() -> Response | tuple[str, int, dict[str, str]]:
    """The election record (docs/record.md) as a zip, once the results are published.

    After the results the log no longer changes, so the zip is built once and served from
    disk. It is written straight from the database, the log a page at a time
    (:func:`bulletin.board.write_record_zip`): a city's record is gigabytes, and neither
    memory nor a temporary copy of the record grows with it. It is written to a ``.part``
    file and renamed, so a request never serves a half-written zip.

    A city's zip takes minutes to write: longer than a proxy waits for an answer, and every
    request that waited held one of the process's threads. So one thread of its own writes
    it; a request waits a few seconds for it (a small record's zip is served at once), then
    is answered 503 with Retry-After and a page saying that the record is being prepared.
    """
    b = _board()
    if not b.store.has_kind("results"):
        abort(404)
    cache = record_cache(b)
    path = _zip_path(b, cache)
    with _ZIP_LOCK:
        builder = None if path.exists() else _ZIP_BUILDS.get(cache)
        if builder is None and not path.exists():
            builder = _ZIP_BUILDS[cache] = threading.Thread(
                target=_build_zip, args=(b, cache), name="tohyo-record-zip", daemon=True
            )
            builder.start()
    if builder is not None:
        builder.join(ZIP_WAIT_SECONDS)
    with _ZIP_LOCK, contextlib.suppress(FileNotFoundError):
        # send_file opens the file before it returns: under the lock, so that a newer
        # zip removes this one's name only once this request holds it open. (Another
        # process's newer zip may have removed it already: then this is the 503 below.)
        return send_file(
            path,
            mimetype="application/zip",
            as_attachment=True,
            download_name="election-record.zip",
        )
    page = render_template("error.html", message=i18n.t("results.record_preparing"))
    return page, 503, {"Retry-After": ZIP_RETRY_AFTER, "Cache-Control": "no-store"}


@bp.get("/rehearsal/cards/<name>")
def rehearsal_card(name: str) -> Response:
    """A rehearsal's simulated card file (never served outside a rehearsal)."""
    site = current_app.config["SITE"]
    if site.card_dir is None or name not in {c["file"] for c in site.demo_cards}:
        abort(404)
    return send_from_directory(site.card_dir, name, as_attachment=True)


# --- QR codes for links on this site --------------------------------------------------------


@bp.get("/qr.svg")
def qr() -> Response:
    """An SVG QR code of a path on this site (never of an arbitrary URL)."""
    target = request.args.get("path", "")
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        abort(400)
    if len(target) > 512:
        abort(400)
    url = request.host_url.rstrip("/") + target
    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10)
    out = io.BytesIO()
    img.save(out)
    return Response(out.getvalue(), mimetype="image/svg+xml")


@bp.app_template_filter("when")
def when(iso: str, manifest: Manifest | None) -> str:
    """An ISO time (from the log or the manifest), shown to the minute in the election's
    time zone: ``{{ time|when(manifest) }}``."""
    return i18n.local_time(iso, manifest)
