"""Operational state in the board's database, shared by every web process of the board (on
one machine or many): the phone signing app's hand-offs and the admin session epoch.

None of it is part of the log. Each operation is one short transaction of its own on its
table (tables ``sign_requests`` and ``admin_epoch`` of :mod:`bulletin.schema`): a read, or
a write in :meth:`bulletin.store.Store.operational` (``BEGIN IMMEDIATE`` on SQLite), never
under the log's append lock (:meth:`bulletin.store.Store.write`): on PostgreSQL it never
waits for an append; on SQLite it shares the database's one write lock, for a moment.

:class:`SignRequests` keeps the hand-offs of ``web/signing.py``. A request is pending
until it expires, is answered, is cancelled by the booth or is voided by ``tries`` wrong
pairing numbers; an answer is taken at most once (a conditional ``UPDATE … WHERE answered
IS NULL``), and never after the request ended. An ended or expired request's row stays for
``KEEP`` more so that the signing app is told why (``request_cancelled``…) rather than "not
found", and a booth reloaded meanwhile still collects an answer taken in time.
Creating one counts the pending requests of its client address and of all clients against
the caps, serialised across processes (SQLite's write lock; on PostgreSQL a transaction
advisory lock of its own, so the counts are exact), and prunes a bounded number of
rows expired for longer than ``KEEP``. What the database keeps of the secrets:

- the booth's secret: its SHA-256 only, compared in constant time;
- the pairing number: SHA-256 of (id, number). Six digits are no secret from whoever can
  read the table (10^6 guesses), so this only keeps the number out of plain sight; online,
  the app has ``tries`` guesses before the request is void;
- the client address: an HMAC of it under a key the web processes hold and the database
  does not (the site's secret key), enough to count by: an unkeyed hash of an IPv4 address
  is guessed back in seconds, and a row also holds the ballot's confirmation code;
- the answer (the voter's certificate, which names them, and the signature): sealed to an
  X25519 key derived from the booth's secret (ECDH with a fresh key, HKDF-SHA256,
  AES-256-GCM bound to the id), of which only the public half is stored. Only the booth's
  secret opens it, so the database, its replicas and backups never hold the certificate
  readable.

:class:`AdminSessionEpoch` is the random token that every admin session carries
(``web/admin/sessions.py``); replacing it ends every admin session on every process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from bulletin import schema
from bulletin.clock import iso
from bulletin.refusals import Refusal
from bulletin.store import Store

PRUNE = 100  # expired rows deleted per creation: more than the one it adds, so they drain
KEEP = timedelta(minutes=10)  # how long a row outlives its expiry (see the module docstring)
# The key of PostgreSQL's transaction-level advisory lock that serialises creations (the
# caps' counts); any fixed number that nothing else of the board locks.
_CREATE_LOCK = 0x746F6879_6F534752  # "tohyoSGR"
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")  # what secrets.token_urlsafe(16) gives (22)


def _digest(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(len(p).to_bytes(4, "big") + p)
    return h.digest()


def _secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "replace")).digest()


def _pairing_hash(rid: str, pairing: str) -> bytes:
    return _digest(b"tohyo sign-request pairing", rid.encode(), pairing.encode())


def _client_hash(client: str, key: bytes) -> bytes:
    return hmac.new(
        key, b"tohyo sign-request client\0" + client.encode("utf-8", "replace"), hashlib.sha256
    ).digest()


def _hkdf(material: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt, info).derive(material)


def _answer_key(secret: str) -> X25519PrivateKey:
    raw = _hkdf(secret.encode("utf-8", "replace"), b"tohyo sign-request answer key")
    return X25519PrivateKey.from_private_bytes(raw)


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes_raw()


def _seal(public: bytes, rid: str, plain: bytes) -> bytes:
    """``plain`` for the holder of ``public``'s private key: ephemeral public key (32),
    nonce (12), AES-256-GCM ciphertext with the request id as associated data."""
    eph = X25519PrivateKey.generate()
    eph_pub = _raw(eph.public_key())
    shared = eph.exchange(X25519PublicKey.from_public_bytes(public))
    key = _hkdf(shared, b"tohyo sign-request answer", eph_pub + public)
    nonce = os.urandom(12)
    return eph_pub + nonce + AESGCM(key).encrypt(nonce, plain, rid.encode())


def _open(secret: str, rid: str, sealed: bytes) -> bytes:
    private = _answer_key(secret)
    eph_pub, nonce, ct = sealed[:32], sealed[32:44], sealed[44:]
    shared = private.exchange(X25519PublicKey.from_public_bytes(eph_pub))
    key = _hkdf(shared, b"tohyo sign-request answer", eph_pub + _raw(private.public_key()))
    return AESGCM(key).decrypt(nonce, ct, rid.encode())


def _unknown() -> Refusal:
    return Refusal("request_unknown", "no such signing request (never made, or pruned)")


@dataclass(frozen=True)
class NewSignRequest:
    """What the booth gets once, at creation: the secrets are not kept readable."""

    id: str
    secret: str
    pairing: str  # six digits
    expires: str  # ISO 8601, UTC (bulletin.clock.iso)


@dataclass(frozen=True)
class SignRequest:
    """A live (unexpired, not voided) signing request as the signing app may see it."""

    id: str
    message: bytes
    challenge: bytes
    code: bytes
    expires: str
    answered: bool


@dataclass(frozen=True)
class SignAnswer:
    """The signing app's answer, opened with the booth's secret."""

    certificate: str  # base64, as the app sent it
    signature: str
    challenge: bytes


class SignRequests:
    """The pending signing requests of one board, in its database (see the module)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(
        self,
        message: bytes,
        challenge: bytes,
        code: bytes,
        now: datetime,
        *,
        ttl: timedelta,
        client: str,
        per_client: int,
        max_pending: int,
        client_key: bytes = b"",
    ) -> NewSignRequest:
        """A new request that expires at ``now + ttl``, unless ``client`` already has
        ``per_client`` unexpired requests or all clients together ``max_pending``
        (``rate_limited``). An answered request keeps its place until it expires, so a
        client that answers its own requests cannot make room for more. ``client_key``
        keys the digest of the client address (see the module docstring)."""
        t, c = schema.sign_requests, schema.sign_requests.c
        at = iso(now)
        who = _client_hash(client, client_key)
        rid = secrets.token_urlsafe(16)
        secret = secrets.token_urlsafe(24)
        pairing = f"{secrets.randbelow(10**6):06d}"
        new = NewSignRequest(rid, secret, pairing, iso(now + ttl))
        refused: Refusal | None = None
        with self.store.operational() as conn:
            if self.store.postgres:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _CREATE_LOCK})
            old = iso(now - KEEP)
            expired = select(c.id).where(c.expires <= old).order_by(c.expires).limit(PRUNE)
            conn.execute(delete(t).where(c.id.in_(expired)))
            # A voided request frees its place, as it did when voiding deleted it; a
            # cancelled one keeps it until it expires, like an answered one, so that
            # creating and cancelling cannot make room for more.
            pending = (c.expires > at) & ((c.ended_by != "voided") | c.ended_by.is_(None))
            count = select(func.count()).select_from(t).where(pending)
            if conn.execute(count.where(c.client == who)).scalar_one() >= per_client:
                refused = Refusal(
                    "rate_limited",
                    f"at most {per_client} pending signing requests per client address; "
                    "try again when one has expired",
                )
            elif conn.execute(count).scalar_one() >= max_pending:
                refused = Refusal("rate_limited", "too many pending signing requests; try again")
            else:
                conn.execute(
                    insert(t).values(
                        id=rid,
                        secret_hash=_secret_hash(secret),
                        pairing_hash=_pairing_hash(rid, pairing),
                        answer_key=_raw(_answer_key(secret).public_key()),
                        message=message,
                        challenge=challenge,
                        code=code,
                        client=who,
                        expires=new.expires,
                        wrong=0,
                    )
                )
        if refused is not None:
            raise refused  # after the commit: the pruning stands
        return new

    def _ended(self, row: Any, at: str) -> Refusal | None:
        """Why the request of ``row`` (with ``ended_by`` and ``expires``) is over, if it is."""
        if row.ended_by == "cancelled":
            return Refusal("request_cancelled")
        if row.ended_by == "voided":
            return Refusal("request_voided")
        if row.expires <= at:
            return Refusal("request_expired")
        return None

    def get(self, rid: str, now: datetime) -> SignRequest:
        """The live request ``rid``, for the signing app before the card is read. Refusals:
        ``request_unknown`` (never made, or pruned), ``request_cancelled``,
        ``request_voided``, ``request_expired``, ``request_answered``: an app is never
        asked to sign what would not be taken."""
        c = schema.sign_requests.c
        if not _ID.fullmatch(rid):
            raise _unknown()  # never a query with what no id looks like (NUL on PostgreSQL)
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(c.message, c.challenge, c.code, c.expires, c.answered, c.ended_by).where(
                    c.id == rid
                )
            ).first()
        if row is None:
            raise _unknown()
        refused = self._ended(row, iso(now))
        if refused is None and row.answered is not None:
            refused = Refusal("request_answered")
        if refused is not None:
            raise refused
        return SignRequest(
            rid,
            bytes(row.message),
            bytes(row.challenge),
            bytes(row.code),
            row.expires,
            row.answered is not None,
        )

    def state(self, rid: str, now: datetime) -> tuple[str, bytes]:
        """Where request ``rid`` stands, for the signing app after it answered: one of
        ``waiting``, ``answered``, ``cancelled``, ``voided``, ``expired``, with the
        ballot's confirmation code (whether the ballot is stored is the board's to say:
        ``web/signing.py`` turns ``answered`` into ``cast`` when it is).
        ``request_unknown`` for no such request."""
        c = schema.sign_requests.c
        if not _ID.fullmatch(rid):
            raise _unknown()
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(c.code, c.expires, c.answered, c.ended_by).where(c.id == rid)
            ).first()
        if row is None:
            raise _unknown()
        if row.ended_by is not None:
            return row.ended_by, bytes(row.code)
        if row.answered is not None:
            return "answered", bytes(row.code)  # a ballot may be cast after the expiry
        return ("expired" if row.expires <= iso(now) else "waiting"), bytes(row.code)

    def answer(
        self,
        rid: str,
        certificate: str,
        signature: str,
        pairing: str,
        now: datetime,
        *,
        tries: int,
    ) -> None:
        """Take the signing app's answer, once, if ``pairing`` is the request's number.

        Refusals: those of :meth:`get` (a cancelled, voided or expired request takes no
        answer, so the app never reports a signature that nobody will cast), and
        ``unauthenticated`` for a wrong number: counted, and the ``tries``-th voids the
        request."""
        t, c = schema.sign_requests, schema.sign_requests.c
        if not _ID.fullmatch(rid):
            raise _unknown()
        at = iso(now)
        refused: Refusal | None = None
        with self.store.operational() as conn:
            # FOR UPDATE: two processes' wrong tries on one request are counted one after
            # the other (SQLite's write lock does that already; there it renders nothing).
            row = conn.execute(
                select(c.pairing_hash, c.answer_key, c.answered, c.wrong, c.expires, c.ended_by)
                .where(c.id == rid)
                .with_for_update()
            ).first()
            if row is None:
                refused = _unknown()
            elif (ended := self._ended(row, at)) is not None:
                refused = ended
            elif row.answered is not None:
                refused = Refusal("request_answered")
            elif not hmac.compare_digest(_pairing_hash(rid, pairing), bytes(row.pairing_hash)):
                values: dict[str, Any] = {"wrong": c.wrong + 1}
                if row.wrong + 1 >= tries:  # void: the booth starts anew
                    values |= {"ended": at, "ended_by": "voided"}
                conn.execute(update(t).where(c.id == rid).values(**values))
                refused = Refusal("unauthenticated", "wrong pairing number")
            else:
                plain = json.dumps({"certificate": certificate, "signature": signature})
                sealed = _seal(bytes(row.answer_key), rid, plain.encode())
                done = conn.execute(
                    update(t)
                    .where(c.id == rid, c.answered.is_(None), c.ended_by.is_(None))
                    .values(answered=at, answer=sealed)
                ).rowcount
                if done != 1:
                    refused = Refusal("request_answered")
        if refused is not None:
            raise refused  # after the commit: a wrong try stays counted

    def cancel(self, rid: str, secret: str, now: datetime) -> None:
        """The booth gives up request ``rid`` (the voter pressed cancel, or started again):
        from the commit on, the app is refused before it reads the card and its answer is
        not taken. Idempotent; ``request_unknown``, and ``unauthenticated`` for a wrong
        secret. An answer taken already stays sealed and unused: the booth that cancels
        never casts with it."""
        t, c = schema.sign_requests, schema.sign_requests.c
        if not _ID.fullmatch(rid):
            raise _unknown()
        refused: Refusal | None = None
        with self.store.operational() as conn:
            row = conn.execute(select(c.secret_hash).where(c.id == rid)).first()
            if row is None:
                refused = _unknown()
            elif not hmac.compare_digest(_secret_hash(secret), bytes(row.secret_hash)):
                refused = Refusal("unauthenticated", "wrong signing-request secret")
            else:
                conn.execute(
                    update(t)
                    .where(c.id == rid, c.ended_by.is_(None))
                    .values(ended=iso(now), ended_by="cancelled")
                )
        if refused is not None:
            raise refused

    def result(self, rid: str, secret: str, now: datetime) -> SignAnswer | None:
        """The answer to request ``rid`` for the holder of its ``secret``; None while there
        is none. An answer taken before the expiry is given after it too (the booth may
        have been reloaded meanwhile). Refusals: ``request_unknown``, ``unauthenticated``
        for a wrong secret, then ``request_cancelled``, ``request_voided``, and
        ``request_expired`` for an unanswered request past its time."""
        c = schema.sign_requests.c
        if not _ID.fullmatch(rid):
            raise _unknown()
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(c.secret_hash, c.challenge, c.answer, c.expires, c.ended_by).where(
                    c.id == rid
                )
            ).first()
        if row is None:
            raise _unknown()
        if not hmac.compare_digest(_secret_hash(secret), bytes(row.secret_hash)):
            raise Refusal("unauthenticated", "wrong signing-request secret")
        if row.ended_by is not None or row.answer is None:
            refused = self._ended(row, iso(now))
            if refused is not None:
                raise refused
            return None
        try:
            answer = json.loads(_open(secret, rid, bytes(row.answer)))
        except (InvalidTag, ValueError):
            # Only an altered row gets here: the secret matched its hash.
            raise Refusal("unauthenticated", "the stored answer does not open") from None
        return SignAnswer(answer["certificate"], answer["signature"], bytes(row.challenge))


class AdminSessionEpoch:
    """The administrator's session epoch of one board: one row of ``admin_epoch``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def current(self) -> str:
        """The epoch now (one primary-key read; made if the row is missing)."""
        c = schema.admin_epoch.c
        with self.store.engine.connect() as conn:
            epoch = conn.execute(select(c.epoch).where(c.id == 1)).scalar_one_or_none()
        return epoch if epoch is not None else self.renew()

    def renew(self) -> str:
        """Draw a new epoch: every session that carries the old one ends, on every
        process, from the commit on."""
        t, c = schema.admin_epoch, schema.admin_epoch.c
        epoch = secrets.token_hex(16)
        try:
            with self.store.operational() as conn:
                if not conn.execute(update(t).where(c.id == 1).values(epoch=epoch)).rowcount:
                    conn.execute(insert(t).values(id=1, epoch=epoch))
        except IntegrityError:
            # The row was missing and another process made it meanwhile: replace that one.
            with self.store.operational() as conn:
                conn.execute(update(t).where(c.id == 1).values(epoch=epoch))
        return epoch


__all__ = [
    "KEEP",
    "PRUNE",
    "AdminSessionEpoch",
    "NewSignRequest",
    "SignAnswer",
    "SignRequest",
    "SignRequests",
]
