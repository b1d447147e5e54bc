"""The administrator's pages (``/admin``), one blueprint.

Every page but the login needs a live session (:mod:`web.admin.sessions`), renewed by each
request; every state-changing form is a CSRF-protected POST; logins are rate-limited per
client address (``SiteSettings.login_limit``).

The pages drive the election (docs/admin.md, "The administrator's pages"): create it from a
manifest (which starts the key ceremony and shows each trustee's enrolment token once),
follow the ceremony and finish it (the election is posted on the board exactly as ``tohyo
board init`` would), open and close voting, post the encrypted tally, follow the trustees'
decryptions and publish the results. The dashboard shows turnout
(:mod:`web.admin.charts`), from the board's public entries; voter pseudonyms are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError

from bulletin.board import Board, BoardError
from bulletin.ceremony import MAX_TRUSTEES, CeremonyStore, Progress
from bulletin.refusals import Refusal
from e2e.election import base_hash
from e2e.errors import TohyoError
from e2e.group import GROUPS
from e2e.manifest import Manifest, ManifestError, manifest_from_json
from web import i18n
from web.admin import sessions
from web.admin.charts import turnout_charts
from web.admin.password import check_password, hash_line_ok
from web.pages import manifest_of
from web.security import limiter

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

#: What a page shows of an error: a text in the page's language, and an English technical
#: detail (or "") shown collapsed under it (templates/admin/_error.html). Both are escaped.
Shown = dict[str, str]


# --- logging in and out ----------------------------------------------------------------------


@admin_bp.before_request
def require_login() -> Response | None:
    """Every admin page except the login needs a live session; each request renews it."""
    if request.endpoint == "admin.login":
        return None
    if not sessions.live():
        expired = sessions.drop()
        flash(i18n.t("admin.login.expired" if expired else "admin.login.needed"), "warn")
        return redirect(url_for("admin.login", next=request.path), 303)
    sessions.renew()
    return None


def _login_limit() -> str:
    return current_app.config["SITE"].login_limit


@admin_bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> Any:
    """The login form; POST checks the password (rate-limited per client address)."""
    line = sessions.configured_hash()
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
    sessions.begin(line)
    target = request.args.get("next", "")
    if not target.startswith("/admin/") or target.startswith("/admin//"):
        target = url_for("admin.dashboard")
    return redirect(target, 303)


@admin_bp.post("/logout")
def logout() -> Response:
    """End the session, and with it every copy of the cookie (:func:`sessions.end`)."""
    sessions.end()
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
        board.store.has_kind("tally") if manifest else False,
        decryptions,
        board.store.has_kind("results") if manifest else False,
        group,
    )


# --- pages -----------------------------------------------------------------------------------


def _dashboard(error: str | Shown | None = None, status: int = 200) -> Any:
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


def _reason(e: TohyoError) -> Shown:
    """A refusal in the page's language: a board refusal's own text (its English detail
    collapsed), else a generic text with the error's English message collapsed."""
    if isinstance(e, Refusal):
        text = i18n.refusal_text(e, i18n.current_language())
        return {"text": text, "detail": e.detail}
    return {"text": i18n.t("admin.refused.other"), "detail": str(e)}


def _bad_manifest(e: ManifestError) -> Shown:
    """A manifest error in the page's language; the field path as written. On a Japanese
    page the English message is the collapsed detail."""
    lang = i18n.current_language()
    text = i18n.t("admin.new.bad_field", field=e.field, message=e.text(lang))
    return {
        "text": f"{i18n.t('admin.new.bad_manifest')} {text}",
        "detail": "" if e.text(lang) == e.message else str(e),
    }


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
    if board.store.has_kind("results"):
        raise BoardError("the results are already published")
    board.post_results()


@admin_bp.post("/results")
def publish_results() -> Any:
    """Combine a quorum of partial decryptions and post the results."""
    return _act(_publish, "admin.published")


# --- creating the election -------------------------------------------------------------------


def _new_page(
    error: str | Shown | None = None,
    status: int = 200,
    errors: dict[str, str | Shown] | None = None,
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


def _int_field(name: str, errors: dict[str, str | Shown]) -> int | None:
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
    errors: dict[str, str | Shown] = {}
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
            errors["manifest"] = _bad_manifest(e)
        except (ValueError, RecursionError) as e:
            # The JSON parser's own limits (a number of thousands of digits, nesting
            # deeper than it goes), which manifest_from_json lets through.
            errors["manifest"] = _bad_manifest(
                ManifestError("(file)", f"not JSON: {e}", "JSONとして読み取れません")
            )
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
        errors["manifest"] = _bad_manifest(e)
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


def _ceremony_page(error: str | Shown | None = None, status: int = 200) -> Any:
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
