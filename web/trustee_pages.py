"""``/trustees``: the public status of every trustee's ceremony steps and decryption.

Anyone may read it: which trustee has posted its public key, its shares and its
confirmation, the joint key's fingerprint to compare with what each trustee's command
printed, and who has posted a partial decryption. Nothing secret is shown: no token, no
share, no complaint text (a complaint is only counted).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, render_template

from bulletin.board import Board, BoardError
from bulletin.ceremony import CeremonyStore
from e2e.election import joint_key
from web import i18n

bp = Blueprint("trustee_pages", __name__, url_prefix="/trustees")

TEXTS: dict[str, dict[str, str]] = {
    "trustees.title": {"ja": "保管者の状況", "en": "Trustees"},
    "trustees.intro": {
        "ja": "選挙の鍵は複数の保管者が分けて持ち、合計の復号には定められた人数が必要です。"
        "各保管者の手続きの進み具合を公開しています（秘密の情報は含みません）。",
        "en": "The election key is shared among several trustees, and a quorum of them is "
        "needed to decrypt the totals. Each trustee's progress is public here (nothing "
        "secret is shown).",
    },
    "trustees.none": {
        "ja": "まだ鍵生成は始まっていません。",
        "en": "The key ceremony has not started yet.",
    },
    "trustees.ceremony": {"ja": "鍵生成", "en": "Key ceremony"},
    "trustees.decryption": {"ja": "復号", "en": "Decryption"},
    "trustees.nk": {
        "ja": "保管者 {n} 人、復号に必要な人数 {k} 人",
        "en": "{n} trustees; {k} are needed to decrypt",
    },
    "trustees.trustee": {"ja": "保管者", "en": "Trustee"},
    "trustees.public": {"ja": "公開鍵と証明", "en": "Public key and proof"},
    "trustees.sent": {"ja": "分割鍵の送付", "en": "Shares sent"},
    "trustees.received": {"ja": "分割鍵の受領", "en": "Shares received"},
    "trustees.confirmed": {"ja": "確認", "en": "Confirmed"},
    "trustees.partial": {"ja": "部分復号", "en": "Partial decryption"},
    "trustees.fingerprint": {"ja": "公開鍵の指紋", "en": "Key fingerprint"},
    "trustees.joint": {
        "ja": "共同鍵 K の指紋（保管者のコマンドが表示する値と同じはずです）",
        "en": "Joint key K fingerprint (the same as each trustee's command prints)",
    },
    "trustees.complaints": {
        "ja": "未解決の苦情（不正な分割鍵の報告）：{n} 件",
        "en": "Open complaints (bad shares reported): {n}",
    },
    "trustees.finished": {
        "ja": "鍵生成は完了し、選挙は掲示板に掲示されています。",
        "en": "The key ceremony is finished and the election is on the board.",
    },
    "trustees.running": {"ja": "鍵生成の途中です。", "en": "The key ceremony is in progress."},
    "trustees.outside": {
        "ja": "この選挙の鍵生成はウェブの外で（ファイルで）行われました。",
        "en": "This election's key ceremony ran outside the web (with files).",
    },
    "trustees.decrypted": {
        "ja": "部分復号 {have} 件（必要数 {k}）",
        "en": "{have} partial decryptions ({k} needed)",
    },
    "trustees.no_tally": {
        "ja": "復号は投票の締め切りと集計の後に行われます。",
        "en": "Decryption comes after voting closes and the tally is posted.",
    },
    "trustees.test": {
        "ja": "注意：テスト用の暗号グループです（安全ではありません）。",
        "en": "Warning: the test group (NOT secure).",
    },
}
i18n.register(TEXTS)


@dataclass(frozen=True)
class Row:
    """One trustee's public progress."""

    index: int
    public_key: bool
    fingerprint: str
    shares_sent: int | None
    shares_received: int | None
    confirmed: bool | None
    decryption: bool


def _fingerprint(element: Any) -> str:
    return hashlib.sha256(element.to_bytes()).hexdigest()[:16].upper()


@bp.get("")
def status() -> Any:
    """The public table of every trustee's steps."""
    board: Board = current_app.config["BOARD"]
    store = CeremonyStore(board)
    progress = store.progress()
    try:
        election = board.election
    except BoardError:
        election = None
    decryptions = store.decryptions() if election is not None else {}
    rows: list[Row] = []
    n = k = 0
    joint = ""
    group = ""
    title = None
    complaints = 0
    if progress is not None:
        c = progress.ceremony
        n, k, group, title = c.n, c.k, c.group_name, c.manifest.title
        joint = progress.joint_key_fingerprint()
        complaints = len(progress.open_complaints)
        for t in progress.trustees:
            rows.append(
                Row(
                    t.index,
                    t.public_key is not None,
                    t.fingerprint(),
                    len(t.shares_sent),
                    len(t.shares_received),
                    t.confirmed is not None,
                    t.index in decryptions,
                )
            )
    elif election is not None:
        # Set up by `tohyo board init` from files: the keys are on the board.
        m = election.manifest
        n, k, title = m.trustees, m.quorum, m.title
        group = election.parameters().group
        publics = board.publics()
        joint = joint_key(election.group, publics).hex()[:32]
        for t in sorted(publics, key=lambda t: t.index):
            rows.append(
                Row(t.index, True, _fingerprint(t.key), None, None, None, t.index in decryptions)
            )
    return render_template(
        "trustees/status.html",
        progress=progress,
        election=election,
        rows=rows,
        n=n,
        k=k,
        group=group,
        title=title,
        joint=joint,
        complaints=complaints,
        decryptions=decryptions,
        tally=board.store.has_kind("tally") if election is not None else False,
    )
