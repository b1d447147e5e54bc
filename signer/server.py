"""The local signer (``tohyo signer``): the voter's own PC signs with the card reader.

The booth runs in the voter's browser on the official site; a browser cannot reach a card
reader, and a hand-off to another device can be phished (docs/jpki.md, "Which flow
protects against what"). So the booth hands the signature to a small service on the same
machine, listening on loopback only:

1. The booth ``POST /requests`` ``{"election": {"ja", "en"}, "category": {"ja", "en"},
   "h_e", "confirmation_code", "challenge", "lang"}`` (64 hex digits each) → ``{"id",
   "secret", "url"}``. Only the official site's origin (``--site``) may: the browser sets
   ``Origin`` and no page of another site can forge it, so a phishing page cannot make this
   signer sign anything. The signer builds the message M itself from H_E, the code and the
   challenge (:func:`bulletin.jpki.verify.signed_message`): the code it shows is the
   one it signs (the titles are the booth's words, for the voter to compare; not in M).
2. The booth opens ``url``, the signer's own page on loopback. It shows the site, the
   election, the category and the confirmation code, which the voter compares with the
   booth beside it on the same screen, and asks for the signing password. It reads the
   card (:mod:`signer.card`, through PC/SC) and signs. The password goes from that page to
   this process and to the card, never to the booth or the site.
3. The booth polls ``GET /requests/<id>/result`` (header ``X-Signer-Secret``): 204 while
   the voter has not signed, then ``{"certificate", "signature"}`` once; 410 with the
   reason once the request is over (cancelled, expired, card locked); 404 if unknown.
   ``DELETE /requests/<id>`` (same header) cancels it.

``GET /status`` tells the booth the signer is there and whether a reader and a card are.
Every request must name this signer by its loopback host (a DNS-rebinding page has another
``Host``); the signer's own pages allow no framing and post only to themselves.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import re
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template_string, request

from bulletin.jpki.verify import signed_message
from signer.card import CardError, JpkiCard

TTL = 600.0  # seconds: as the board's signing nonce, after which the signature is useless
MAX_PENDING = 20
MAX_TEXT = 200  # an election's or category's title
HEX64 = re.compile(r"[0-9A-Fa-f]{64}")

#: What the signer's page says, in the booth's language.
TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "title": "マイナンバーカードで署名",
        "site": "署名を求めているサイト",
        "election": "選挙",
        "category": "分野",
        "code": "確認コード",
        "compare": "投票画面に表示されている確認コードと同じであることを確かめてください。"
        "違うときは署名しないでください。",
        "pin": "署名用電子証明書のパスワード（英大文字と数字6〜16文字）",
        "sign": "署名する",
        "cancel": "やめる",
        "low": "パスワードの残り回数は1回です。間違えるとカードがロックされ、市区町村の窓口で"
        "解除が必要になります。",
        "low.confirm": "パスワードが正しいことを確かめました",
        "tries": "パスワードはあと{n}回間違えるとロックされます。",
        "done": "署名しました。投票画面に戻ってください。このページは閉じてかまいません。",
        "cancelled": "署名をやめました。投票画面に戻ってください。",
        "over": "この署名の要求は終わっています。投票画面からやり直してください。",
        "no_reader": "カードリーダーが見つかりません。カードリーダーをつないでから、もう一度"
        "「署名する」を押してください。",
        "no_card": "カードが読み取れません。マイナンバーカードをカードリーダーに置いてから、"
        "もう一度「署名する」を押してください。",
        "removed": "署名の途中でカードが離れました。カードを置き直して、もう一度「署名する」を"
        "押してください。",
        "not_jpki": "このカードはマイナンバーカード（署名用電子証明書）ではありません。",
        "pin_format": "パスワードは英大文字と数字の6〜16文字です。",
        "wrong_pin": "パスワードが違います。あと{n}回間違えるとロックされます。",
        "low_tries": "パスワードの残り回数は1回です。確認の欄にチェックを入れてから署名して"
        "ください。",
        "blocked": "パスワードがロックされています。お住まいの市区町村の窓口で解除してください。",
        "card_status": "カードがエラーを返しました（{detail}）。カードを置き直して、もう一度"
        "お試しください。",
    },
    "en": {
        "title": "Sign with your My Number Card",
        "site": "Site asking for the signature",
        "election": "Election",
        "category": "Category",
        "code": "Confirmation code",
        "compare": "Check that the booth shows the same confirmation code. If it does not, "
        "do not sign.",
        "pin": "Signing certificate password (6–16 capital letters and digits)",
        "sign": "Sign",
        "cancel": "Cancel",
        "low": "One password try is left. A wrong password locks the card, and only your "
        "city office can unlock it.",
        "low.confirm": "I have checked that the password is right",
        "tries": "{n} wrong passwords more lock the card.",
        "done": "Signed. Go back to the booth; you may close this page.",
        "cancelled": "Signing cancelled. Go back to the booth.",
        "over": "This signing request is over. Start again from the booth.",
        "no_reader": "No card reader found. Connect a card reader, then press Sign again.",
        "no_card": "No card can be read. Place your My Number Card on the reader, then press "
        "Sign again.",
        "removed": "The card was moved away while signing. Place it again and press Sign.",
        "not_jpki": "This card is not a My Number Card (no signing certificate).",
        "pin_format": "The password is 6–16 capital letters and digits.",
        "wrong_pin": "Wrong password. {n} wrong passwords more lock the card.",
        "low_tries": "One password try is left. Tick the box to confirm, then sign.",
        "blocked": "The password is locked. Your city office can unlock it.",
        "card_status": "The card returned an error ({detail}). Place it again and retry.",
    },
}

#: Card errors after which this request cannot succeed: the booth is told at once.
FINAL = {"blocked"}  # another card (not_jpki) on the reader: the voter can swap it

PAGE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ t.title }}</title>
<style>
body{font:1.05rem/1.6 system-ui,sans-serif;margin:0 auto;max-width:36rem;padding:1rem;
color:#1a1a1a;background:#fff}
h1{font-size:1.4rem}dt{font-weight:bold;margin-top:.6rem}dd{margin:0}
.code{font-family:ui-monospace,monospace;font-size:1.15rem;letter-spacing:.05em;
word-break:break-all}
.status{border:2px solid;padding:.6rem .8rem;border-radius:.3rem;margin:1rem 0}
.ok{border-color:#1d6b2f;background:#eaf6ec}.bad{border-color:#a4161a;background:#fbeaea}
.warn{border-color:#7a5200;background:#fff5dd}
label{display:block;margin:1rem 0 .3rem;font-weight:bold}
input[type=password]{font-size:1.2rem;padding:.5rem;width:100%;box-sizing:border-box}
button{font-size:1.1rem;padding:.6rem 1.2rem;margin:.8rem .6rem 0 0;border-radius:.3rem;
border:2px solid #1a1a1a;background:#fff;cursor:pointer}
button.primary{background:#0b4f8a;border-color:#0b4f8a;color:#fff}
:focus-visible{outline:3px solid #0b4f8a;outline-offset:2px}
</style></head><body><main>
<h1>{{ t.title }}</h1>
<dl>
<dt>{{ t.site }}</dt><dd id="site">{{ req.site }}</dd>
<dt>{{ t.election }}</dt><dd id="election">{{ req.election }}</dd>
<dt>{{ t.category }}</dt><dd id="category">{{ req.category }}</dd>
<dt>{{ t.code }}</dt><dd class="code" id="code">{{ req.code_shown }}</dd>
</dl>
{% if message %}<p id="status" class="status {{ kind }}" role="{{ 'status' if kind == 'ok'
 else 'alert' }}">{{ message }}</p>{% endif %}
{% if req.open %}
<p>{{ t.compare }}</p>
<form method="post" action="/requests/{{ req.id }}/sign">
<input type="hidden" name="token" value="{{ req.page_token }}">
<label for="pin">{{ t.pin }}</label>
<input type="password" id="pin" name="pin" autocomplete="off" autocapitalize="characters"
 spellcheck="false" required minlength="6" maxlength="16">
{% if low %}<p class="status warn">{{ t.low }}</p>
<p><input type="checkbox" id="confirm-low" name="confirm_low" value="1">
<label for="confirm-low" style="display:inline">{{ t["low.confirm"] }}</label></p>{% endif %}
<button type="submit" class="primary" id="sign">{{ t.sign }}</button>
<button type="submit" id="cancel" formaction="/requests/{{ req.id }}/cancel" formnovalidate>
{{ t.cancel }}</button>
</form>
{% endif %}
</main></body></html>
"""


@dataclass
class SignRequest:
    """One signing request of the booth, in this process only (it lives minutes)."""

    id: str
    secret: str
    page_token: str
    site: str
    election: str
    category: str
    code: bytes
    message: bytes
    lang: str
    expires: float
    answer: tuple[bytes, bytes] | None = None  # (certificate DER, signature)
    collected: bool = False
    over: str | None = None  # why it can no longer be signed: cancelled, a final card error
    busy: threading.Lock = field(default_factory=threading.Lock)
    clock: Callable[[], float] = time.monotonic

    @property
    def open(self) -> bool:
        return self.answer is None and self.over is None and self.clock() < self.expires

    @property
    def code_shown(self) -> str:
        """The confirmation code in groups of four, as the booth shows it."""
        h = self.code.hex().upper()
        return " ".join(h[i : i + 4] for i in range(0, len(h), 4))


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _origin(url: str) -> str:
    """scheme://host[:port] of an origin, as a browser writes it in ``Origin``."""
    u = urllib.parse.urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname or u.path not in ("", "/"):
        raise ValueError(f"not an origin: {url!r} (e.g. https://vote.example.jp)")
    return f"{u.scheme}://{u.netloc}".lower()


def create_signer(
    site: str,
    open_card: Callable[[], AbstractContextManager[JpkiCard]],
    port: int,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> Flask:
    """The local signer's WSGI app. ``site``: the official site's origin, the only one whose
    booth may ask for a signature. ``open_card``: a context manager giving the card in the
    reader (:func:`signer.pcsc.open_card`), opened for each step and closed after, so that
    a card swapped between two steps is read anew. ``port``: where this app listens, for
    the ``Host`` check."""
    official = _origin(site)
    me = {f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"}
    own_origins = {f"http://{h}" for h in me}
    requests: dict[str, SignRequest] = {}
    lock = threading.Lock()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 16 * 1024

    def live(rid: str) -> SignRequest:
        with lock:
            now = clock()
            for k in [k for k, r in requests.items() if r.expires + TTL < now]:
                del requests[k]  # forgotten a TTL after expiry: the booth has seen the end
            req = requests.get(rid)
        if req is None:
            abort(404)
        return req

    def booth_only() -> None:
        if request.headers.get("Origin", "").lower() != official:
            abort(403)

    @app.before_request
    def host_check() -> None:
        if request.host.lower() not in me:
            abort(421)  # another name for this address: a DNS-rebinding page

    @app.after_request
    def headers(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Cache-Control"] = "no-store"
        # same-origin, not no-referrer: under no-referrer the browser sends "Origin: null"
        # with the page's own form, and the form's origin is what proves where it came from
        resp.headers["Referrer-Policy"] = "same-origin"
        if request.headers.get("Origin", "").lower() == official:
            resp.headers["Access-Control-Allow-Origin"] = official
            resp.headers["Vary"] = "Origin"
        if resp.mimetype == "text/html":
            resp.headers["Content-Security-Policy"] = (
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"
            )
            resp.headers["X-Frame-Options"] = "DENY"
        return resp

    @app.route("/status", methods=["OPTIONS"])
    @app.route("/requests", methods=["OPTIONS"])
    @app.route("/requests/<rid>", methods=["OPTIONS"])
    @app.route("/requests/<rid>/result", methods=["OPTIONS"])
    def preflight(rid: str | None = None) -> Response:
        booth_only()
        resp = Response(status=204)
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, DELETE"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type, X-Signer-Secret"
        resp.headers["Access-Control-Max-Age"] = "600"
        # Chrome asks a public site's page before it lets it reach a loopback address.
        if request.headers.get("Access-Control-Request-Private-Network") == "true":
            resp.headers["Access-Control-Allow-Private-Network"] = "true"
        return resp

    @app.get("/status")
    def status() -> Any:
        booth_only()
        return jsonify({"signer": "tohyo", "site": official})

    @app.post("/requests")
    def create() -> Any:
        booth_only()
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return _bad("expected a JSON object")
        fields = {}
        for name in ("h_e", "confirmation_code", "challenge"):
            value = body.get(name)
            if not isinstance(value, str) or not HEX64.fullmatch(value):
                return _bad(f"{name}: expected 64 hex digits")
            fields[name] = bytes.fromhex(value)
        # A page in a language this app has no texts for (zh-Hans...) gets English.
        asked = body.get("lang")
        lang = asked if isinstance(asked, str) and asked in TEXTS else "ja" if not asked else "en"
        titles = {}
        for name in ("election", "category"):
            value = body.get(name)
            text = value.get(lang) if isinstance(value, dict) else None
            if not isinstance(text, str) or not 0 < len(text) <= MAX_TEXT:
                return _bad(f"{name}: expected {{{lang!r}: title}}")
            titles[name] = text
        message = signed_message(fields["h_e"], fields["confirmation_code"], fields["challenge"])
        req = SignRequest(
            id=secrets.token_urlsafe(16),
            secret=secrets.token_urlsafe(24),
            page_token=secrets.token_urlsafe(16),
            site=official,
            election=titles["election"],
            category=titles["category"],
            code=fields["confirmation_code"],
            message=message,
            lang=lang,
            expires=clock() + TTL,
            clock=clock,
        )
        with lock:
            if sum(1 for r in requests.values() if r.open) >= MAX_PENDING:
                return jsonify({"error": "busy"}), 429
            requests[req.id] = req
        url = f"http://127.0.0.1:{port}/requests/{req.id}"
        return jsonify({"id": req.id, "secret": req.secret, "url": url}), 201

    def secret_ok(req: SignRequest) -> bool:
        got = request.headers.get("X-Signer-Secret", "")
        return hmac.compare_digest(got.encode(), req.secret.encode())

    @app.get("/requests/<rid>/result")
    def result(rid: str) -> Any:
        booth_only()
        req = live(rid)
        if not secret_ok(req):
            abort(401)
        if req.answer is not None and not req.collected:
            req.collected = True
            cert, signature = req.answer
            return jsonify(
                {
                    "certificate": base64.b64encode(cert).decode(),
                    "signature": base64.b64encode(signature).decode(),
                }
            )
        if req.answer is not None or req.over is not None or clock() >= req.expires:
            return jsonify({"error": req.over or "expired"}), 410
        return Response(status=204)

    @app.delete("/requests/<rid>")
    def cancel_from_booth(rid: str) -> Any:
        booth_only()
        req = live(rid)
        if not secret_ok(req):
            abort(401)
        with req.busy:
            if not req.collected:
                req.answer = None
                req.over = "cancelled"
        return Response(status=204)

    def page(req: SignRequest, message: str = "", kind: str = "", low: bool = False) -> str:
        return render_template_string(
            PAGE, lang=req.lang, t=TEXTS[req.lang], req=req, message=message, kind=kind, low=low
        )

    def said(req: SignRequest, key: str, **kw: Any) -> str:
        return TEXTS[req.lang][key].format(**kw)

    @app.get("/requests/<rid>")
    def show(rid: str) -> Any:
        req = live(rid)
        if not req.open:
            done = req.answer is not None
            return page(req, said(req, "done" if done else "over"), "ok" if done else "bad")
        # How many tries are left, if a card is there; a missing card is said when signing.
        try:
            with open_card() as card:
                left = card.tries_left()
        except Exception:  # no reader, no card, no pyscard: said when the voter signs
            return page(req)
        if left <= 0:  # nothing to sign with: the booth is told at once
            with req.busy:
                if req.answer is None:
                    req.over = "blocked"
            return page(req, said(req, "blocked"), "bad")
        return page(req, said(req, "tries", n=left) if left < 5 else "", "warn", low=left < 2)

    def own_form(req: SignRequest) -> None:
        """A form of the signer's own page: posted from loopback, with the page's token."""
        if request.headers.get("Origin", "").lower() not in own_origins:
            abort(403)
        if not hmac.compare_digest(request.form.get("token", "").encode(), req.page_token.encode()):
            abort(403)

    @app.post("/requests/<rid>/cancel")
    def cancel(rid: str) -> Any:
        req = live(rid)
        own_form(req)
        with req.busy:  # after a signature in flight: the voter's "no" still wins
            if req.collected:
                return page(req, said(req, "done"), "ok")  # the booth has it: too late
            req.answer = None
            req.over = "cancelled"
        return page(req, said(req, "cancelled"), "ok")

    @app.post("/requests/<rid>/sign")
    def sign(rid: str) -> Any:
        req = live(rid)
        own_form(req)
        pin = request.form.get("pin", "").strip().upper()
        confirm = request.form.get("confirm_low") == "1"
        with req.busy:  # one card operation per request at a time (a double click)
            if req.answer is not None:  # a second click while the first one signed
                return page(req, said(req, "done"), "ok")
            if not req.open:
                return page(req, said(req, "over"), "bad")
            try:
                with open_card() as card:
                    cert, signature = card.sign_message(pin, req.message, confirm_low=confirm)
            except CardError as e:
                return card_error(req, e)
            except Exception as e:  # pyscard missing, a driver's own error: said, not a 500
                return card_error(req, CardError("card_status", type(e).__name__))
            req.answer = (cert, signature)
        return page(req, said(req, "done"), "ok")

    def card_error(req: SignRequest, e: CardError) -> tuple[str, int]:
        if e.code in FINAL:
            req.over = e.code
        left = e.tries_left
        key = e.code if e.code in TEXTS[req.lang] else "card_status"
        text = said(req, key, n=left if left is not None else "?", detail=str(e))
        low = e.code == "low_tries" or (e.code == "wrong_pin" and left == 1)
        return page(req, text, "bad", low=low and req.open), 200

    return app


def _bad(detail: str) -> tuple[Response, int]:
    return jsonify({"error": "malformed", "detail": detail}), 400


def check_host(host: str) -> None:
    """The signer listens on loopback only: another machine must never reach it."""
    if not _loopback(host):
        raise ValueError(f"the signer listens on loopback only, not {host!r}")
