"""The administrator's pages (``/admin``) and ``tohyo admin password``.

One administrator password, kept only as a scrypt hash in the server's configuration (made
by ``tohyo admin password``; compared in constant time). A login opens a Flask session that
expires after ``SiteSettings.session_minutes`` without a request (checked on every request,
not only by the cookie's age) and ends at logout; it is also void once the configured
hash changes. Logout also voids copies of the cookie (a per-process session epoch, see
``_epoch``). Every state-changing form is a CSRF-protected POST; logins are rate-limited.

The pages drive the election: create it from a manifest (which starts the key ceremony and
shows each trustee's enrolment token once), follow the ceremony and finish it (the election
is posted on the board exactly as ``tohyo board init`` would), open and close voting, post
the encrypted tally, follow the trustees' decryptions and publish the results. The
dashboard shows turnout — cast ballots per category per day or hour, from the board's
public entries; voter pseudonyms are never read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import click
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError

from bulletin.board import Board, BoardError
from bulletin.ceremony import MAX_TRUSTEES, CeremonyStore, Progress
from e2e.election import base_hash
from e2e.errors import TohyoError
from e2e.group import GROUPS
from e2e.manifest import Manifest, ManifestError, manifest_from_json
from web import i18n
from web.pages import manifest_of
from web.security import limiter
from web.turnout import turnout

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

# --- the password ----------------------------------------------------------------------------

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1  # about 0.1 s and 32 MiB per check
MIN_PASSWORD = 12


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    """``scrypt$N$r$p$SALT$HASH`` (hex): the one line to put in the server's configuration."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=2**27, dklen=32
    )
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def hash_line_ok(line: str) -> bool:
    """True if ``line`` has the form that :func:`hash_password` prints."""
    parts = line.strip().split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    _, n, r, p, salt, want = parts
    try:
        cost, block, par = int(n), int(r), int(p)
        bytes.fromhex(salt)
        digest = bytes.fromhex(want)
    except ValueError:
        return False
    cost_ok = cost > 1 and cost & (cost - 1) == 0 and cost <= 2**30
    return cost_ok and 1 <= block <= 2**10 and 1 <= par <= 2**10 and 0 < len(digest) <= 1024


def check_password(password: str, line: str) -> bool:
    """True if ``password`` matches the hash line (constant-time comparison)."""
    # A malformed line (wrong field count, non-hex salt or hash, a cost that scrypt refuses
    # or that exceeds maxmem) is a failed check, never an exception.
    if not hash_line_ok(line):
        return False
    try:
        _, n, r, p, salt, want = line.strip().split("$")
        expected = bytes.fromhex(want)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=2**27,
            dklen=len(expected),
        )
    except (ValueError, OverflowError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@click.group("admin")
def admin_cli() -> None:
    """The election administrator's commands."""


@admin_cli.command("password")
def password_command() -> None:
    """Read the administrator password (prompt, or one line on stdin) and print its hash.

    Put the printed line in a file and name it in the server's configuration (``tohyo serve
    --admin-password-file FILE``); the password itself is stored nowhere.
    """
    if sys.stdin.isatty():
        pw = click.prompt("administrator password", hide_input=True, confirmation_prompt=True)
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
    if len(pw) < MIN_PASSWORD:
        click.echo(f"error: the password needs at least {MIN_PASSWORD} characters", err=True)
        sys.exit(2)
    click.echo(hash_password(pw))


# --- texts -----------------------------------------------------------------------------------

TEXTS: dict[str, dict[str, str]] = {
    "admin.title": {"ja": "選挙管理", "en": "Election administration"},
    "admin.nav": {"ja": "管理メニュー", "en": "Administration menu"},
    "admin.dashboard": {"ja": "ダッシュボード", "en": "Dashboard"},
    "admin.new": {"ja": "選挙の作成", "en": "Create the election"},
    "admin.ceremony": {"ja": "鍵生成の進行状況", "en": "Key ceremony"},
    "admin.decryption": {"ja": "復号の進行状況", "en": "Decryption"},
    "admin.logout": {"ja": "ログアウト", "en": "Log out"},
    "admin.login": {"ja": "管理者ログイン", "en": "Administrator login"},
    "admin.password": {"ja": "管理者パスワード", "en": "Administrator password"},
    "admin.login.button": {"ja": "ログイン", "en": "Log in"},
    "admin.login.wrong": {
        "ja": "パスワードが違います。",
        "en": "The password is not correct.",
    },
    "admin.login.disabled": {
        "ja": "このサーバーでは管理者ログインが設定されていません（tohyo admin password）。",
        "en": "Administrator login is not configured on this server (tohyo admin password).",
    },
    "admin.login.bad_hash": {
        "ja": "設定された管理者パスワードのハッシュの形式が正しくありません。"
        "tohyo admin password の出力した1行をそのままファイルに入れてください。",
        "en": "The configured administrator password hash is malformed. Put the one line "
        "that tohyo admin password prints, unchanged, in the file.",
    },
    "admin.login.expired": {
        "ja": "セッションの有効期限が切れました。もう一度ログインしてください。",
        "en": "Your session has expired. Please log in again.",
    },
    "admin.login.needed": {
        "ja": "このページを見るには管理者ログインが必要です。",
        "en": "Please log in as the administrator to see this page.",
    },
    "admin.login.limited": {
        "ja": "ログインの試行が多すぎます。しばらくしてからもう一度お試しください。",
        "en": "Too many login attempts. Please wait a while and try again.",
    },
    "admin.logged_out": {"ja": "ログアウトしました。", "en": "You have logged out."},
    "admin.csrf": {
        "ja": "フォームの有効期限が切れたか、正しくありません。"
        "ページを再読み込みしてやり直してください。",
        "en": "The form has expired or is not valid. Reload the page and try again.",
    },
    "admin.state": {"ja": "掲示板の状態", "en": "Board state"},
    "admin.state.setup": {
        "ja": "選挙はまだ掲示板にありません（鍵生成の前）",
        "en": "No election on the board yet (before the key ceremony)",
    },
    "admin.state.ready": {
        "ja": "選挙は掲示済み・投票開始前",
        "en": "Election posted; voting not opened yet",
    },
    "admin.state.open": {"ja": "投票受付中", "en": "Voting is open"},
    "admin.state.closed": {"ja": "投票は締め切られました", "en": "Voting is closed"},
    "admin.election": {"ja": "選挙", "en": "Election"},
    "admin.period": {"ja": "投票期間", "en": "Voting period"},
    "admin.next": {"ja": "次の操作", "en": "Next step"},
    "admin.no_ceremony": {
        "ja": "まだ選挙がありません。マニフェストから選挙を作成してください。",
        "en": "There is no election yet. Create it from a manifest.",
    },
    "admin.ceremony_running": {
        "ja": "鍵生成の途中です。保管者全員が確認を終えたら、鍵生成を完了してください。",
        "en": "The key ceremony is in progress. Finish it once every trustee has confirmed.",
    },
    "admin.open": {"ja": "投票を開始する", "en": "Open voting"},
    "admin.close": {"ja": "投票を締め切る", "en": "Close voting"},
    "admin.close.confirm": {
        "ja": "締め切ると再開できないことを理解しました",
        "en": "I understand that voting cannot be reopened",
    },
    "admin.close.confirm_needed": {
        "ja": "締め切るには確認のチェックを入れてください。",
        "en": "Tick the confirmation to close voting.",
    },
    "admin.tally": {
        "ja": "集計を開始する（暗号化された合計を掲示）",
        "en": "Start the tally (post the encrypted totals)",
    },
    "admin.results": {"ja": "結果を公開する", "en": "Publish the results"},
    "admin.results.done": {"ja": "結果は公開済みです。", "en": "The results are published."},
    "admin.results.link": {"ja": "結果を見る", "en": "See the results"},
    "admin.opened": {"ja": "投票を開始しました。", "en": "Voting is open."},
    "admin.closed": {"ja": "投票を締め切りました。", "en": "Voting is closed."},
    "admin.tallied": {
        "ja": "暗号化された合計を掲示しました。保管者に部分復号を依頼してください。",
        "en": "The encrypted totals are posted. Ask the trustees for their partial decryptions.",
    },
    "admin.published": {"ja": "結果を公開しました。", "en": "The results are published."},
    "admin.refused": {"ja": "この操作はできません", "en": "This is not possible"},
    "admin.turnout": {"ja": "投票数の推移", "en": "Turnout over time"},
    "admin.turnout.note": {
        "ja": "掲示板の公開記録から数えた、分野ごとの投票（再投票を含む）の数です。"
        "投票者の仮名は使いません。",
        "en": "Cast ballots per category (re-votes included), counted from the board's "
        "public entries. Voter pseudonyms are not used.",
    },
    "admin.turnout.by_day": {"ja": "日ごと", "en": "By day"},
    "admin.turnout.by_hour": {"ja": "時間ごと（直近72時間）", "en": "By hour (last 72 hours)"},
    "admin.turnout.none": {"ja": "まだ投票はありません。", "en": "No ballots yet."},
    "admin.turnout.total": {"ja": "合計", "en": "Total"},
    "admin.turnout.when": {"ja": "期間", "en": "Period"},
    "admin.turnout.chart": {
        "ja": "{contest}：{first}から{last}まで、最大{top}票",
        "en": "{contest}: from {first} to {last}, at most {top} ballots",
    },
    "admin.turnout.table": {"ja": "数値の表", "en": "Table of the numbers"},
    "admin.new.intro": {
        "ja": "マニフェスト（JSON）を貼り付けるかファイルを選んでください。"
        "作成すると鍵生成が始まり、保管者ごとの登録トークンが一度だけ表示されます。",
        "en": "Paste the manifest (JSON) or choose its file. Creating the election starts the "
        "key ceremony and shows each trustee's enrolment token once.",
    },
    "admin.new.manifest": {"ja": "マニフェスト（JSON）", "en": "Manifest (JSON)"},
    "admin.new.file": {"ja": "またはマニフェストのファイル", "en": "Or the manifest file"},
    "admin.new.group": {"ja": "暗号グループ", "en": "Cryptographic group"},
    "admin.new.group.standard": {
        "ja": "標準（4096ビット、本番用）",
        "en": "Standard (4096-bit, for real elections)",
    },
    "admin.new.group.test": {
        "ja": "テスト用（安全ではありません、リハーサル専用）",
        "en": "Test (NOT secure, rehearsals only)",
    },
    "admin.new.group.help": {
        "ja": "テスト用グループは、サーバーをリハーサル用の設定で起動したときだけ選べます。",
        "en": "The test group can be chosen only when the server runs with the rehearsal flag.",
    },
    "admin.new.trustees": {
        "ja": "保管者の数 n（空欄ならマニフェストの値）",
        "en": "Number of trustees n (blank: the manifest's)",
    },
    "admin.new.quorum": {
        "ja": "復号に必要な人数 k（空欄ならマニフェストの値）",
        "en": "Quorum k (blank: the manifest's)",
    },
    "admin.new.replace": {
        "ja": "進行中の鍵生成を破棄して新しく始める（これまでのトークンは無効になります）",
        "en": "Abandon the key ceremony in progress and start again (its tokens stop working)",
    },
    "admin.new.replace_needed": {
        "ja": "鍵生成が進行中です。作り直す場合は破棄の確認にチェックを入れてください。",
        "en": "A key ceremony is in progress. Tick the box to abandon it and start again.",
    },
    "admin.new.stale": {
        "ja": "このフォームを開いた後に鍵生成の状態が変わりました。ページを開き直してください。",
        "en": "The key ceremony changed since this form was opened. Open the page again.",
    },
    "admin.new.create": {
        "ja": "選挙を作成して鍵生成を始める",
        "en": "Create the election and start the key ceremony",
    },
    "admin.new.no_manifest": {
        "ja": "マニフェストを入力してください。",
        "en": "Enter the manifest.",
    },
    "admin.new.bad_manifest": {
        "ja": "マニフェストに誤りがあります：",
        "en": "The manifest has an error:",
    },
    "admin.new.bad_number": {
        "ja": "1から{top}までの整数を入力してください。",
        "en": "Enter a whole number from 1 to {top}.",
    },
    "admin.new.test_refused": {
        "ja": "このサーバーではテスト用グループは使えません。",
        "en": "The test group is not allowed on this server.",
    },
    "admin.new.election_exists": {
        "ja": "掲示板にはすでに選挙があります。",
        "en": "The board already holds an election.",
    },
    "admin.tokens.title": {"ja": "保管者の登録トークン", "en": "Trustee enrolment tokens"},
    "admin.tokens.once": {
        "ja": "このトークンは今回だけ表示され、サーバーには保存されません。保管者ごとに、"
        "安全な方法で（本人に直接、または暗号化した連絡手段で）渡してください。",
        "en": "These tokens are shown this once and are not kept on the server. Give each "
        "trustee its own token through a safe channel (in person, or an encrypted message).",
    },
    "admin.tokens.trustee": {"ja": "保管者", "en": "Trustee"},
    "admin.tokens.token": {"ja": "トークン", "en": "Token"},
    "admin.tokens.command": {"ja": "保管者が実行するコマンド", "en": "The trustee's commands"},
    "admin.tokens.fingerprint": {
        "ja": "マニフェストの指紋 H_B（保管者のコマンドの表示と照合してもらってください）",
        "en": "Manifest fingerprint H_B (the trustees compare it with what their command prints)",
    },
    "admin.tokens.board_key": {
        "ja": "掲示板の公開鍵（このサーバー以外の経路でも公表し、保管者に渡してください。"
        "保管者は復号のときに --board-key でこの値を指定します）",
        "en": "The board's public key (publish it outside this server too and give it to the "
        "trustees: they pin it with --board-key when they decrypt)",
    },
    "admin.tokens.continue": {"ja": "進行状況へ", "en": "Go to the key ceremony"},
    "admin.ceremony.none": {
        "ja": "鍵生成は行われていません。",
        "en": "No key ceremony has been started.",
    },
    "admin.ceremony.outside": {
        "ja": "この選挙はウェブの鍵生成を使わずに（コマンドで）掲示されました。",
        "en": "This election was posted without the web key ceremony (by the command line).",
    },
    "admin.ceremony.group": {"ja": "グループ", "en": "Group"},
    "admin.ceremony.nk": {
        "ja": "保管者 {n} 人、復号に必要な人数 {k} 人",
        "en": "{n} trustees, quorum {k}",
    },
    "admin.ceremony.public": {"ja": "公開鍵と証明", "en": "Public key and proof"},
    "admin.ceremony.sent": {"ja": "送った分割鍵", "en": "Shares sent"},
    "admin.ceremony.received": {"ja": "受け取った分割鍵", "en": "Shares received"},
    "admin.ceremony.confirmed": {"ja": "確認", "en": "Confirmed"},
    "admin.ceremony.complaints": {
        "ja": "苦情（不正な分割鍵の報告）",
        "en": "Complaints (bad shares reported)",
    },
    "admin.ceremony.complaint": {
        "ja": "保管者 {complainant} が保管者 {accused} からの分割鍵を不正と報告：{reason}",
        "en": "Trustee {complainant} reports a bad share from trustee {accused}: {reason}",
    },
    "admin.ceremony.resolved": {"ja": "（再送済み）", "en": "(resent)"},
    "admin.ceremony.ready": {
        "ja": "全員の確認が揃いました。鍵生成を完了して選挙を掲示できます。",
        "en": "Every trustee has confirmed. You can finish the ceremony and post the election.",
    },
    "admin.ceremony.waiting": {"ja": "まだ揃っていないもの：", "en": "Still missing:"},
    "admin.ceremony.finish": {
        "ja": "鍵生成を完了して選挙を掲示する",
        "en": "Finish the ceremony and post the election",
    },
    "admin.ceremony.finished": {
        "ja": "鍵生成を完了し、選挙を掲示板に掲示しました。",
        "en": "The key ceremony is finished and the election is on the board.",
    },
    "admin.ceremony.posting": {
        "ja": "鍵生成は完了しましたが、選挙はまだ掲示板にありません。"
        "もう一度「完了」を押すと掲示をやり直します。",
        "en": "The key ceremony is finished but the election is not on the board yet. "
        "Finish again to post it.",
    },
    "admin.ceremony.joint": {"ja": "共同鍵 K の指紋", "en": "Joint key K fingerprint"},
    "admin.ceremony.start_over": {"ja": "鍵生成をやり直す", "en": "Start the key ceremony again"},
    "admin.decryption.quorum": {
        "ja": "部分復号 {have} / 必要数 {k}",
        "en": "{have} partial decryptions of the {k} needed",
    },
    "admin.decryption.trustee": {"ja": "保管者", "en": "Trustee"},
    "admin.decryption.status": {"ja": "部分復号", "en": "Partial decryption"},
    "admin.decryption.no_tally": {
        "ja": "まだ集計（暗号化された合計）が掲示されていません。",
        "en": "The encrypted tally is not on the board yet.",
    },
    "admin.decryption.command": {
        "ja": "保管者は次のコマンドで部分復号を送ります：",
        "en": "Trustees send their partial decryption with:",
    },
    "admin.decryption.entry": {"ja": "掲示済み（記録 {entry}）", "en": "Posted (entry {entry})"},
    "admin.decryption.need_quorum": {
        "ja": "結果の公開には、さらに部分復号が必要です。",
        "en": "More partial decryptions are needed before the results can be published.",
    },
    "admin.yes": {"ja": "✓ 済み", "en": "✓ done"},
    "admin.no": {"ja": "— 未", "en": "— not yet"},
    "admin.of": {"ja": "{have} / {want}", "en": "{have} of {want}"},
    "admin.warning.test": {
        "ja": "注意：テスト用グループです。安全ではないので、本番の選挙には使えません。",
        "en": "Warning: the test group. It is NOT secure; never use it for a real election.",
    },
}
i18n.register(TEXTS)


# --- sessions --------------------------------------------------------------------------------


def _now() -> float:
    """Seconds since the epoch (a function, so tests can move time)."""
    return time.time()


def _hash_line() -> str | None:
    return current_app.config["SITE"].admin_password_hash


def _hash_tag(line: str) -> str:
    # Ties a session to the configured hash: a new password ends every open session.
    return hashlib.sha256(line.encode("utf-8")).hexdigest()[:16]


# Sessions are signed cookies kept by the browser, so clearing one at logout does not stop a
# copy of it. Each admin session therefore carries this process's "session epoch", a random
# token checked on every request; logout draws a new one. There is one administrator, so
# ending every admin session at once is the safe reading of "log out"; a restart of the
# server (one process: tohyo serve) draws a new epoch as well.
_EPOCH_KEY = "tohyo_admin_session_epoch"
_epoch_lock = threading.Lock()


def _epoch() -> str:
    """The current session epoch (made on first use in this process)."""
    with _epoch_lock:
        ext = current_app.extensions
        if _EPOCH_KEY not in ext:
            ext[_EPOCH_KEY] = secrets.token_hex(16)
        return ext[_EPOCH_KEY]


def _new_epoch() -> None:
    """End every admin session: cookies carrying the old epoch are refused from now on."""
    with _epoch_lock:
        current_app.extensions[_EPOCH_KEY] = secrets.token_hex(16)


def _session_ok() -> bool:
    line = _hash_line()
    info = session.get("admin")
    if not line or not isinstance(info, dict) or info.get("tag") != _hash_tag(line):
        return False
    epoch = info.get("epoch")
    if not isinstance(epoch, str) or not hmac.compare_digest(epoch, _epoch()):
        return False
    seen = info.get("seen")
    limit = current_app.config["SITE"].session_minutes * 60
    return isinstance(seen, int | float) and 0 <= _now() - seen <= limit


@admin_bp.before_request
def require_login() -> Response | None:
    """Every admin page except the login needs a live session; each request renews it."""
    if request.endpoint == "admin.login":
        return None
    if not _session_ok():
        expired = "admin" in session
        session.pop("admin", None)
        flash(i18n.t("admin.login.expired" if expired else "admin.login.needed"), "warn")
        return redirect(url_for("admin.login", next=request.path), 303)
    session["admin"] = {**session["admin"], "seen": _now()}
    return None


def _login_limit() -> str:
    return current_app.config["SITE"].login_limit


@admin_bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    """The login form; POST checks the password (rate-limited per client address)."""
    line = _hash_line()
    # Not configured, or a line that is not a hash: say so instead of refusing every password.
    disabled = None
    if not line:
        disabled = "admin.login.disabled"
    elif not hash_line_ok(line):
        disabled = "admin.login.bad_hash"
    if request.method == "GET":
        return render_template("admin/login.html", disabled=disabled, error=None)
    if disabled or not line:
        return render_template("admin/login.html", disabled=disabled, error=None), 403
    if not check_password(request.form.get("password", ""), line):
        error = i18n.t("admin.login.wrong")
        return render_template("admin/login.html", disabled=None, error=error), 401
    session.clear()  # a fresh session: nothing from before the login carries over
    session.permanent = True
    session["admin"] = {
        "tag": _hash_tag(line),
        "epoch": _epoch(),
        "seen": _now(),
        "since": _now(),
    }
    target = request.args.get("next", "")
    if not target.startswith("/admin/") or target.startswith("/admin//"):
        target = url_for("admin.dashboard")
    return redirect(target, 303)


@admin_bp.post("/logout")
def logout() -> Response:
    """End the session, and with it every copy of the cookie (see :func:`_epoch`)."""
    _new_epoch()
    session.clear()
    flash(i18n.t("admin.logged_out"), "ok")
    return redirect(url_for("admin.login"), 303)


@admin_bp.errorhandler(CSRFError)
def csrf_refused(e: CSRFError) -> Any:
    """A form without a valid CSRF token (or an expired one) changes nothing."""
    return render_template("admin/message.html", error=i18n.t("admin.csrf")), 400


@admin_bp.errorhandler(429)
def too_many(e: Exception) -> Any:
    """The login rate limit."""
    return render_template(
        "admin/login.html", disabled=None, error=i18n.t("admin.login.limited")
    ), 429


# --- helpers ---------------------------------------------------------------------------------


def _board() -> Board:
    return current_app.config["BOARD"]


def _ceremonies() -> CeremonyStore:
    return CeremonyStore(_board())


def _allow_test_group() -> bool:
    # SiteSettings.allow_test_group (tohyo serve --allow-test-group).
    return bool(current_app.config["SITE"].allow_test_group)


@dataclass(frozen=True)
class BoardView:
    """What the dashboard and the action pages need to know about the board."""

    state: str
    manifest: Manifest | None
    tally: bool
    decryptions: dict[int, int]
    results: bool
    group: str

    @property
    def quorum_met(self) -> bool:
        return self.manifest is not None and len(self.decryptions) >= self.manifest.quorum


def _view(board: Board) -> BoardView:
    manifest = manifest_of(board)
    decryptions = CeremonyStore(board).decryptions() if manifest else {}
    group = board.election.parameters().group if manifest else ""
    return BoardView(
        board.state(),
        manifest,
        bool(board.store.kinds(["tally"])) if manifest else False,
        decryptions,
        bool(board.store.kinds(["results"])) if manifest else False,
        group,
    )


# --- turnout ---------------------------------------------------------------------------------


CHART_W, CHART_H = 600, 120


def turnout_charts(board: Board, manifest: Manifest, by: str) -> dict[str, Any]:
    """Buckets (days, or the last 72 hours) in the election's time zone, one bar series per
    contest, with SVG geometry precomputed (the page has no script)."""
    per = turnout(board, manifest.start_time.tzinfo, by)
    if not per:
        return {"buckets": [], "charts": []}
    step = timedelta(hours=1) if by == "hour" else timedelta(days=1)
    first = min(t for t, _ in per)
    last = max(t for t, _ in per)
    if by == "hour":
        first = max(first, last - timedelta(hours=71))
    buckets = []
    t = first
    while t <= last:
        buckets.append(t)
        t = t + step
    fmt = "%m/%d %H:00" if by == "hour" else "%Y-%m-%d"
    labels = [b.strftime(fmt) for b in buckets]
    charts = []
    bar_w = CHART_W / len(buckets)
    for ci, contest in enumerate(manifest.contests, start=1):
        values = [per.get((b, ci), 0) for b in buckets]
        top = max(values) or 1
        bars = []
        for i, (label, v) in enumerate(zip(labels, values, strict=True)):
            h = round(CHART_H * v / top, 1)
            bars.append(
                {
                    "x": round(i * bar_w + bar_w * 0.1, 2),
                    "y": round(CHART_H - h, 1),
                    "w": round(bar_w * 0.8, 2),
                    "h": h,
                    "label": label,
                    "n": v,
                }
            )
        charts.append(
            {
                "contest": contest,
                "values": values,
                "total": sum(values),
                "top": max(values),
                "bars": bars,
            }
        )
    return {"buckets": labels, "charts": charts, "width": CHART_W, "height": CHART_H}


# --- pages -----------------------------------------------------------------------------------


def _dashboard(error: str | None = None, status: int = 200) -> Any:
    board = _board()
    view = _view(board)
    progress = _ceremonies().progress() if view.state == "setup" else None
    by = "hour" if request.args.get("by") == "hour" else "day"
    charts = turnout_charts(board, view.manifest, by) if view.manifest else None
    return render_template(
        "admin/dashboard.html",
        view=view,
        progress=progress,
        charts=charts,
        by=by,
        error=error,
    ), status


@admin_bp.get("/")
def dashboard() -> Any:
    """The board's state, the next step and turnout."""
    return _dashboard()


def _act(action: Callable[[], Any], done: str) -> Any:
    """Run an administrative step; on success flash ``done`` and show the dashboard again,
    on a refusal show the dashboard with the reason and 409.

    Every tohyo error counts as a refusal (a wrong state, a proof that does not verify, a
    partial decryption that does not combine — ``DecryptionError`` — and so on): the
    administrator reads why on the page instead of a server error."""
    try:
        action()
    except TohyoError as e:
        return _dashboard(error=_reason(e), status=409)
    flash(i18n.t(done), "ok")
    return redirect(url_for("admin.dashboard"), 303)


def _reason(e: TohyoError) -> str:
    detail = getattr(e, "detail", "") or str(e)
    return f"{i18n.t('admin.refused')}: {detail}"


@admin_bp.post("/open")
def open_voting() -> Any:
    """Open the election for ballots (the board must be ready)."""
    return _act(lambda: _board().open(), "admin.opened")


@admin_bp.post("/close")
def close_voting() -> Any:
    """Close the election (irreversible: the form needs a ticked confirmation)."""
    if request.form.get("confirm") != "yes":
        return _dashboard(error=i18n.t("admin.close.confirm_needed"), status=400)
    return _act(lambda: _board().close(), "admin.closed")


@admin_bp.post("/tally")
def tally() -> Any:
    """Post the encrypted tally of the counted ballots (after the close)."""
    return _act(lambda: _board().post_tally(), "admin.tallied")


def _publish() -> None:
    board = _board()
    if board.store.kinds(["results"]):
        raise BoardError("the results are already published")
    board.post_results()


@admin_bp.post("/results")
def publish_results() -> Any:
    """Combine a quorum of partial decryptions and post the results."""
    return _act(_publish, "admin.published")


# --- creating the election -------------------------------------------------------------------


def _new_page(
    error: str | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Any:
    board = _board()
    current = _ceremonies().current()
    in_progress = current if current is not None and not current.finished else None
    return render_template(
        "admin/new.html",
        election=manifest_of(board) is not None,
        in_progress=in_progress,
        seen=str(current.id) if in_progress else "none",
        allow_test=_allow_test_group(),
        error=error,
        errors=errors or {},
        form=form or {},
    ), status


@admin_bp.get("/election/new")
def new_election() -> Any:
    """The form: manifest, group, optional n and k."""
    return _new_page()


def _int_field(name: str, errors: dict[str, str]) -> int | None:
    raw = request.form.get(name, "").strip()
    if not raw:
        return None
    # ASCII digits only ("²" and "١" are digits to str.isdigit), and a bound: n tokens are
    # made at once and n² shares travel.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 4 or not 1 <= int(raw) <= MAX_TRUSTEES:
        errors[name] = i18n.t("admin.new.bad_number", top=MAX_TRUSTEES)
        return None
    return int(raw)


@admin_bp.post("/election/new")
def create_election() -> Any:
    """Validate the manifest, start the ceremony, and show the trustee tokens once."""
    form = {k: request.form.get(k, "") for k in ("manifest", "trustees", "quorum", "group")}
    errors: dict[str, str] = {}
    upload = request.files.get("manifest_file")
    text = upload.read().decode("utf-8", "replace") if upload and upload.filename else ""
    text = text or form["manifest"]
    group = form["group"] or "standard"
    if group not in GROUPS:
        errors["group"] = i18n.t("admin.new.test_refused")
    elif group != "standard" and not _allow_test_group():
        errors["group"] = i18n.t("admin.new.test_refused")
    n = _int_field("trustees", errors)
    k = _int_field("quorum", errors)
    manifest = None
    if not text.strip():
        errors["manifest"] = i18n.t("admin.new.no_manifest")
    else:
        try:
            manifest = manifest_from_json(text)
        except ManifestError as e:
            errors["manifest"] = f"{i18n.t('admin.new.bad_manifest')} {e}"
        except (ValueError, RecursionError) as e:
            # The JSON parser's own limits (a number of thousands of digits, nesting
            # deeper than it goes), which manifest_from_json lets through.
            errors["manifest"] = f"{i18n.t('admin.new.bad_manifest')} not JSON: {e}"
    form["manifest"] = text
    if errors or manifest is None:
        return _new_page(status=400, errors=errors, form=form)
    store = _ceremonies()
    current = store.current()
    in_progress = current if current is not None and not current.finished else None
    seen = request.form.get("seen", "")
    if seen != (str(in_progress.id) if in_progress else "none"):
        return _new_page(error=i18n.t("admin.new.stale"), status=409, form=form)
    if in_progress is not None and request.form.get("replace") != "yes":
        return _new_page(error=i18n.t("admin.new.replace_needed"), status=409, form=form)
    try:
        ceremony, tokens = store.create(
            manifest,
            group,
            replacing=in_progress.id if in_progress else None,
            trustees=n,
            quorum=k,
        )
    except ManifestError as e:
        errors["manifest"] = f"{i18n.t('admin.new.bad_manifest')} {e}"
        return _new_page(status=400, errors=errors, form=form)
    except TohyoError as e:  # CeremonyError: the board or the ceremony changed meanwhile
        return _new_page(error=_reason(e), status=409, form=form)
    _, h_b = base_hash(ceremony.group, ceremony.manifest)
    server = request.host_url.rstrip("/")
    return render_template(
        "admin/tokens.html",
        ceremony=ceremony,
        tokens=list(enumerate(tokens, start=1)),
        server=server,
        h_b=h_b.hex_upper()[:32],
        board_key=_board().public.public_key.hex_upper(),
        test_flag=" --allow-test-group" if ceremony.group_name != "standard" else "",
    ), 201


# --- the ceremony and the decryption ---------------------------------------------------------


def _ceremony_page(error: str | None = None, status: int = 200) -> Any:
    board = _board()
    store = CeremonyStore(board)
    progress: Progress | None = store.progress()
    return render_template(
        "admin/ceremony.html",
        progress=progress,
        decryptions=store.decryptions() if board.state() != "setup" else {},
        outside=progress is None and board.state() != "setup",
        posted=board.state() != "setup",
        error=error,
    ), status


@admin_bp.get("/ceremony")
def ceremony() -> Any:
    """Which trustees have posted their public key, shares and confirmation."""
    return _ceremony_page()


@admin_bp.post("/ceremony/finish")
def finish_ceremony() -> Any:
    """Post the election on the board from the ceremony (as ``tohyo board init``)."""
    try:
        _ceremonies().finish()
    except TohyoError as e:  # CeremonyError, or a key that no longer verifies
        return _ceremony_page(error=_reason(e), status=409)
    flash(i18n.t("admin.ceremony.finished"), "ok")
    return redirect(url_for("admin.dashboard"), 303)


@admin_bp.get("/decryption")
def decryption() -> Any:
    """Which trustees have posted their partial decryption; publish when a quorum has."""
    board = _board()
    view = _view(board)
    return render_template(
        "admin/decryption.html",
        view=view,
        server=request.host_url.rstrip("/"),
        board_key=board.public.public_key.hex_upper(),
        error=None,
    )
