"""Every refusal code of the board, with its Japanese and English texts: one table.

The board (submissions and reads), the key ceremony's mailbox (``bulletin.ceremony``) and
the JPKI gate (``bulletin.jpki``) refuse with codes of this one table, :data:`CODES`. The
code is what the HTTP API returns as ``error`` and its texts are the ``message``; a code
means the same thing wherever it is raised, so it has one text, written to fit every use.

A JPKI gate code is precise (``cert_revoked``, ``address_not_eligible``…); its ``general``
is the board code it falls under (``malformed``, ``unauthenticated``, ``not_eligible``),
for callers that only know the board's codes. So is a signing hand-off's code
(``request_cancelled``…, under ``not_found`` or ``wrong_state``), whose text tells the voter
in the signing app what to do next. Every other code is its own general code.

The table holds no HTTP statuses: the board layer knows nothing of HTTP, and the web layer
maps each code to its status (``web/status.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from e2e.errors import TohyoError


@dataclass(frozen=True)
class Reason:
    """What a refusal code says. ``general`` is set for a precise code only (a JPKI gate
    code, a signing-request code)."""

    ja: str
    en: str
    general: str | None = None


#: Refusal code → its texts (and, for a precise code, its general board code).
CODES: dict[str, Reason] = {
    # --- the board: submissions, reads, and any request to the site's API -----------------
    "malformed": Reason("リクエストの形式が正しくありません。", "The request is malformed."),
    "unauthenticated": Reason("認証できませんでした。", "Authentication failed."),
    "not_eligible": Reason("この選挙の投票資格がありません。", "The voter is not eligible."),
    "not_open": Reason("現在は投票期間外です。", "The election is not open."),
    "not_found": Reason("見つかりません。", "Not found."),
    "copy": Reason(
        "この投票はすでに受け付けられた投票と重複しています。",
        "This ballot copies one already on the board.",
    ),
    "wrong_state": Reason("この操作は現在できません。", "This is not possible now."),
    "too_large": Reason("データが大きすぎます。", "The submission is too large."),
    "invalid_ballot": Reason(
        "投票が選挙の内容と一致しません。", "The ballot does not match the election."
    ),
    "invalid_proof": Reason("証明が正しくありません。", "A proof does not verify."),
    "rate_limited": Reason(
        "アクセスが集中しています。しばらくしてから再度お試しください。",
        "Too many requests; please wait a moment and try again.",
    ),
    # Not a refusal of the request: the board cannot answer for now (its database is down or
    # restarting, a batch was cut short by a shutdown). The one code the API answers with a
    # 5xx status (503); its text tells a voter that sending the ballot again is safe.
    "unavailable": Reason(
        "一時的に処理できません。少し待ってから、もう一度お試しください。"
        "同じ投票を送り直しても、二重に数えられることはありません。",
        "The service is briefly unavailable. Please wait a moment and try again; a ballot "
        "sent again is never counted twice.",
    ),
    # --- the hand-off to a signing app on another device (web/signing.py) ---------------
    # The app shows these to the voter before the card is touched; each says what to do.
    "request_unknown": Reason(
        "この署名の依頼は見つかりません。投票画面に表示されている新しいQRコードから"
        "やり直してください。",
        "This signing request cannot be found. Start again from the QR code now shown on "
        "the voting screen.",
        "not_found",
    ),
    "request_expired": Reason(
        "この署名の依頼は有効時間（10分）を過ぎました。投票画面で「署名をやり直す」を"
        "押してください。投票はまだされていません。",
        'This signing request has expired (after 10 minutes). Press "Sign again" on the '
        "voting screen. Nothing has been cast.",
        "wrong_state",
    ),
    "request_cancelled": Reason(
        "この署名の依頼は投票画面で取り消されました。カードで署名する必要はありません。"
        "投票はされていません。",
        "This signing request was cancelled on the voting screen. There is nothing to sign, "
        "and nothing has been cast.",
        "wrong_state",
    ),
    "request_voided": Reason(
        "ペアリング番号の誤りが続いたため、この署名の依頼は無効になりました。"
        "投票画面で「署名をやり直す」を押してください。",
        "This signing request was voided after too many wrong pairing numbers. Press "
        '"Sign again" on the voting screen.',
        "wrong_state",
    ),
    "request_answered": Reason(
        "この署名の依頼にはすでに署名が届いています。投票画面で結果を確認してください。",
        "This signing request has already been signed. See the voting screen for the result.",
        "wrong_state",
    ),
    "request_stale": Reason(
        "この署名の依頼はもう使えません（署名の要求の有効時間が過ぎたか、すでに使われました）。"
        "投票画面で「署名をやり直す」を押してください。",
        "This signing request can no longer be used (its challenge expired or was used). "
        'Press "Sign again" on the voting screen.',
        "wrong_state",
    ),
    # --- witnesses (docs/protocol.md §8.4) -------------------------------------------------
    "unknown_witness": Reason(
        "この選挙の立会人ではありません。", "The cosignature is not by a witness of this election."
    ),
    "bad_signature": Reason(
        "立会人の署名を確認できません。", "The witness's cosignature does not verify."
    ),
    "not_our_checkpoint": Reason(
        "この掲示板が署名した記録ではありません。",
        "The board did not sign this checkpoint.",
    ),
    # --- the key ceremony's mailbox --------------------------------------------------------
    "not_yours": Reason(
        "このトークンでは別の保管者の名前で送ることはできません。",
        "This token may not send messages in another trustee's name.",
    ),
    "duplicate": Reason(
        "同じ内容のものがすでに異なる内容で受け付けられています。",
        "This was already received with different content.",
    ),
    "unknown_trustee": Reason(
        "その番号の保管者はこの選挙にいません。",
        "There is no trustee with that number in this election.",
    ),
    "mismatch": Reason(
        "共同鍵が保管者の公開鍵から計算した値と一致しません。",
        "The joint key does not match the trustees' public keys.",
    ),
    # --- the JPKI gate (docs/jpki.md); "challenge" in these codes is the signing nonce -----
    "auth_malformed": Reason(
        "署名データの形式が正しくありません。",
        "The signature data (certificate, signature, challenge) is malformed.",
        "malformed",
    ),
    "cert_malformed": Reason(
        "電子証明書を読み取れません。", "The certificate cannot be read.", "unauthenticated"
    ),
    "cert_unsupported_key": Reason(
        "この種類の鍵には対応していません（RSA 2048ビットのみ対応）。",
        "Unsupported key type (only RSA-2048 is accepted).",
        "unauthenticated",
    ),
    "cert_unsupported_algorithm": Reason(
        "この署名方式には対応していません（sha256WithRSAEncryptionのみ対応）。",
        "Unsupported signature algorithm (only sha256WithRSAEncryption is accepted).",
        "unauthenticated",
    ),
    "cert_untrusted": Reason(
        "信頼できる認証局が発行した電子証明書ではありません。",
        "The certificate was not issued by a trusted certification authority.",
        "unauthenticated",
    ),
    "cert_not_yet_valid": Reason(
        "電子証明書の有効期間がまだ始まっていません。",
        "The certificate is not valid yet.",
        "unauthenticated",
    ),
    "cert_expired": Reason(
        "電子証明書の有効期限が切れています。", "The certificate has expired.", "unauthenticated"
    ),
    "cert_key_usage": Reason(
        "電子証明書の鍵の用途が電子署名ではありません。",
        "The certificate's key usage does not allow digital signatures.",
        "unauthenticated",
    ),
    "cert_policy": Reason(
        "電子証明書のポリシーがこの投票では認められていません。",
        "The certificate policy is not accepted for this vote.",
        "unauthenticated",
    ),
    "cert_profile": Reason(
        "署名用電子証明書の形式ではありません。",
        "The certificate is not shaped like a JPKI signing certificate.",
        "unauthenticated",
    ),
    "cert_revoked": Reason(
        "電子証明書は失効しています。", "The certificate has been revoked.", "not_eligible"
    ),
    "crl_unavailable": Reason(
        "失効情報を確認できません。しばらくしてから再度お試しください。",
        "The revocation status cannot be checked now; please try again later.",
        "unauthenticated",
    ),
    "address_not_eligible": Reason(
        "電子証明書の住所が投票の対象地域ではありません。",
        "The address in the certificate is not in the area of this vote.",
        "not_eligible",
    ),
    "address_substitute": Reason(
        "住所に代替文字が含まれるため、対象地域かどうか確認できません。",
        "The address contains substitute characters, so the area cannot be confirmed.",
        "not_eligible",
    ),
    "signature_invalid": Reason(
        "電子署名を検証できませんでした。", "The signature does not verify.", "unauthenticated"
    ),
    "challenge_unknown": Reason(
        "署名の要求が見つかりません。最初からやり直してください。",
        "The challenge is unknown; please start again.",
        "unauthenticated",
    ),
    "challenge_expired": Reason(
        "署名の要求の有効時間が過ぎました。最初からやり直してください。",
        "The challenge has expired; please start again.",
        "unauthenticated",
    ),
    "challenge_used": Reason(
        "この署名の要求はすでに使われています。最初からやり直してください。",
        "The challenge has already been used; please start again.",
        "unauthenticated",
    ),
    "revote_other_device": Reason(
        "この分野にはすでに投票があります。投票をやり直すときは、別の端末に渡す方法ではなく、"
        "この端末で署名する方法（カードリーダーまたはカードを読み取れるスマートフォン）で"
        "署名してください。",
        "There is already a vote in this category. To change it, sign on this device (a card "
        "reader, or a phone that reads the card), not by handing the signature to another "
        "device.",
        "not_eligible",
    ),
}


class Refusal(TohyoError):
    """A submission, request or message is refused; ``code`` is a key of :data:`CODES`.

    ``ja`` and ``en`` are the code's texts, ``general`` the board code it falls under (the
    code itself unless it is a JPKI gate code), ``detail`` what exactly was wrong (English,
    never personal data: refusals reach logs and HTTP responses). The subclasses
    (``JpkiRefusal``, ``CeremonyError``) only name where a refusal comes from.
    """

    def __init__(self, code: str, detail: str = "") -> None:
        reason = CODES[code]
        super().__init__(f"{code}: {reason.en}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.general = reason.general or code
        self.ja = reason.ja
        self.en = reason.en
        self.detail = detail

    def as_json(self) -> dict[str, Any]:
        """The HTTP API's error object."""
        return {
            "error": self.code,
            "message": {"ja": self.ja, "en": self.en},
            "detail": self.detail,
        }


__all__ = ["CODES", "Reason", "Refusal"]
