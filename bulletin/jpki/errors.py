"""Refusals of the JPKI gate, each with its own code and a message in Japanese and English.

:class:`JpkiRefusal` is a :class:`bulletin.auth.Refusal`, so the board and the HTTP API
handle it like any other refusal (``code``, ``ja``, ``en``, ``detail``, ``as_json``), but its
codes come from this module's table. ``general`` is the nearest code of the board's own
table (``malformed``, ``unauthenticated``, ``not_eligible``) for callers that only know those.

A ``detail`` never holds personal data (name, birth date, sex, address, serial number):
refusals reach logs and HTTP responses.
"""

from __future__ import annotations

from bulletin.auth import Refusal
from e2e.errors import TohyoError

#: code → (general board code, Japanese, English).
REASONS: dict[str, tuple[str, str, str]] = {
    "auth_malformed": (
        "malformed",
        "署名データの形式が正しくありません。",
        "The signature data (certificate, signature, challenge) is malformed.",
    ),
    "cert_malformed": (
        "unauthenticated",
        "電子証明書を読み取れません。",
        "The certificate cannot be read.",
    ),
    "cert_unsupported_key": (
        "unauthenticated",
        "この種類の鍵には対応していません（RSA 2048ビットのみ対応）。",
        "Unsupported key type (only RSA-2048 is accepted).",
    ),
    "cert_unsupported_algorithm": (
        "unauthenticated",
        "この署名方式には対応していません（sha256WithRSAEncryptionのみ対応）。",
        "Unsupported signature algorithm (only sha256WithRSAEncryption is accepted).",
    ),
    "cert_untrusted": (
        "unauthenticated",
        "信頼できる認証局が発行した電子証明書ではありません。",
        "The certificate was not issued by a trusted certification authority.",
    ),
    "cert_not_yet_valid": (
        "unauthenticated",
        "電子証明書の有効期間がまだ始まっていません。",
        "The certificate is not valid yet.",
    ),
    "cert_expired": (
        "unauthenticated",
        "電子証明書の有効期限が切れています。",
        "The certificate has expired.",
    ),
    "cert_key_usage": (
        "unauthenticated",
        "電子証明書の鍵の用途が電子署名ではありません。",
        "The certificate's key usage does not allow digital signatures.",
    ),
    "cert_policy": (
        "unauthenticated",
        "電子証明書のポリシーがこの投票では認められていません。",
        "The certificate policy is not accepted for this vote.",
    ),
    "cert_profile": (
        "unauthenticated",
        "署名用電子証明書の形式ではありません。",
        "The certificate is not shaped like a JPKI signing certificate.",
    ),
    "cert_revoked": (
        "not_eligible",
        "電子証明書は失効しています。",
        "The certificate has been revoked.",
    ),
    "crl_unavailable": (
        "unauthenticated",
        "失効情報を確認できません。しばらくしてから再度お試しください。",
        "The revocation status cannot be checked now; please try again later.",
    ),
    "address_not_eligible": (
        "not_eligible",
        "電子証明書の住所が投票の対象地域ではありません。",
        "The address in the certificate is not in the area of this vote.",
    ),
    "address_substitute": (
        "not_eligible",
        "住所に代替文字が含まれるため、対象地域かどうか確認できません。",
        "The address contains substitute characters, so the area cannot be confirmed.",
    ),
    "signature_invalid": (
        "unauthenticated",
        "電子署名を検証できませんでした。",
        "The signature does not verify.",
    ),
    "challenge_unknown": (
        "unauthenticated",
        "署名の要求が見つかりません。最初からやり直してください。",
        "The challenge is unknown; please start again.",
    ),
    "challenge_expired": (
        "unauthenticated",
        "署名の要求の有効時間が過ぎました。最初からやり直してください。",
        "The challenge has expired; please start again.",
    ),
    "challenge_used": (
        "unauthenticated",
        "この署名の要求はすでに使われています。最初からやり直してください。",
        "The challenge has already been used; please start again.",
    ),
}


class JpkiRefusal(Refusal):
    """The JPKI gate refuses a submission; ``code`` is one of this module's :data:`REASONS`."""

    def __init__(self, code: str, detail: str = "") -> None:
        # Refusal.__init__ looks the code up in the board's table; ours has its own.
        general, ja, en = REASONS[code]
        TohyoError.__init__(self, f"{code}: {en}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.general = general
        self.ja = ja
        self.en = en
        self.detail = detail


class JpkiConfigError(TohyoError):
    """The gate's configuration (anchors, CRLs, policies, address rules) is unusable."""
