"""``tohyo trustee …``: one trustee's side of the key ceremony and of decryption.

Each trustee runs these on its own machine; messages are JSON files carried between the
trustees by the administrator (who also runs ``joint-key`` and ``combine``):

    init      --manifest M --index I --dir D      → D/trustee-I.key, D/trustee-I.public.json
    shares    --key K --public P… --out OUT       → OUT/share-I-to-L.json for each L
    receive   --key K --public P… --share S…      → checks the shares, stores the key share
    joint-key --manifest M --public P… --record R → R/manifest.json, parameters.json, trustees/
    decrypt   --key K --record R                  → R/decryptions/trustee-I.json
    combine   --record R                          → R/results.json

or, through the election server instead of files (``trustees/remote.py``; the server only
relays public messages and shares already encrypted to their recipient):

    remote --server URL --token T init --dir D    → D/trustee-I.key; posts the public key
    remote … shares --key K                       → posts a share for each other trustee
    remote … receive --key K                      → checks own shares; confirms or complains
    remote … decrypt --key K                      → verifies the board's record; posts M_i
    remote … status                               → this trustee's next step

The passphrase is asked for on the terminal (or read from ``--passphrase-file``); secrets
are stored only encrypted (trustees.keystore) and are never printed.
"""

from __future__ import annotations

import functools
import json
import pathlib
import sys
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import click

from e2e import codec
from e2e.board import BoardKey
from e2e.cli import fail, guard
from e2e.election import Election, TrusteePublicKey, base_hash, extended_base_hash, joint_key
from e2e.group import GROUPS, Group
from e2e.hash import HashValue
from e2e.manifest import Manifest, manifest_from_canonical, manifest_from_json
from e2e.record import Layout, RecordFiles, read_record
from e2e.rng import SystemRng
from e2e.tally import combine, trustee_commitments
from e2e.threshold import public_share
from e2e.verify import check_partials, verify_tally_inputs
from trustees import keystore
from trustees.ceremony import (
    EncryptedShare,
    ShareError,
    check_public_keys,
    decrypt_share,
    encrypt_share,
    finish,
    new_trustee,
)
from trustees.decrypt import partial_decrypt
from trustees.remote import RemoteError, Server, document_bytes, download_record, is_loopback


def _passphrase(path: str | None, confirm: bool) -> str:
    if path:
        return pathlib.Path(path).read_text(encoding="utf-8").rstrip("\n")
    return click.prompt("passphrase", hide_input=True, confirmation_prompt=confirm, err=True)


def _read_publics(group_name: str, files: Sequence[str]) -> list[TrusteePublicKey]:
    group = GROUPS[group_name]
    return codec.decode_many([pathlib.Path(f).read_bytes() for f in files], TrusteePublicKey, group)


def _group_name_of(key: keystore.TrusteeKey) -> str:
    return next(n for n, g in GROUPS.items() if g == key.group)


passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Read the passphrase from this file instead of the terminal.",
)


@click.group()
def trustee() -> None:
    """One trustee's side of the key ceremony and of decryption."""


no_board_option = click.option(
    "--no-board",
    is_flag=True,
    help="For an election run without a bulletin board (its manifest names none): accept "
    "such a manifest (init) or a record without the board's log (decrypt).",
)


def echo_election(h_b: HashValue, board: BoardKey | None) -> None:
    """What a trustee compares with the administrator (and with what is published)."""
    click.echo(f"manifest fingerprint H_B: {h_b.hex_upper()} (compare with the administrator)")
    if board is not None:
        click.echo(f"board key (in the manifest): {board.public_key.hex_upper()}")


@trustee.command()
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--index", required=True, type=int, help="This trustee's number, 1..n.")
@click.option("--dir", "out", required=True, type=click.Path(file_okay=False))
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@no_board_option
@passphrase_option
@guard
def init(
    manifest: str,
    index: int,
    out: str,
    group_name: str,
    no_board: bool,
    passphrase_file: str | None,
) -> None:
    """Create this trustee's secrets (encrypted) and its public key message."""
    m = manifest_from_json(pathlib.Path(manifest).read_text(encoding="utf-8"))
    if not 1 <= index <= m.trustees:
        fail(f"--index must be between 1 and {m.trustees}")
    if m.board is None and not no_board:
        # The key keeps this manifest's H_B; one pinned after the ceremony could then never
        # be decrypted, and one never pinned names no board (docs/protocol.md D7).
        fail(
            "the manifest names no bulletin board key: ask the administrator for the manifest "
            "from `tohyo board pin-manifest` (give --no-board only for an election without a "
            "board)"
        )
    group = GROUPS[group_name]
    h_p, h_b = base_hash(group, m)
    secrets_, public = new_trustee(group, h_p, index, m.quorum, SystemRng())
    passphrase = _passphrase(passphrase_file, confirm=True)
    d = pathlib.Path(out)
    d.mkdir(parents=True, exist_ok=True)
    key_path = d / f"trustee-{index}.key"
    if key_path.exists():
        fail(f"{key_path} exists; refusing to overwrite a trustee key")
    keystore.save(
        key_path, keystore.TrusteeKey(group, h_p, m.trustees, m.quorum, secrets_, h_b), passphrase
    )
    pub_path = d / f"trustee-{index}.public.json"
    pub_path.write_bytes(codec.encode(public))
    click.echo(f"wrote {key_path} (encrypted) and {pub_path} (send this to the administrator)")
    echo_election(h_b, m.board)


@trustee.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--public", "publics", required=True, multiple=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False))
@passphrase_option
@guard
def shares(key_path: str, publics: tuple[str, ...], out: str, passphrase_file: str | None) -> None:
    """Check every trustee's public key, then encrypt a share for each other trustee."""
    key = keystore.load(key_path, _passphrase(passphrase_file, confirm=False))
    pubs = check_public_keys(
        key.group, key.h_p, key.n, key.k, _read_publics(_group_name_of(key), publics)
    )
    d = pathlib.Path(out)
    d.mkdir(parents=True, exist_ok=True)
    rng = SystemRng()
    me = key.secrets.index
    for ell, pub in pubs.items():
        if ell == me:
            continue
        share = encrypt_share(key.group, key.h_p, key.secrets, pub, rng)
        (d / f"share-{me}-to-{ell}.json").write_bytes(codec.encode(share))
    click.echo(f"checked {len(pubs)} public keys; wrote {len(pubs) - 1} encrypted shares to {d}")


@trustee.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--public", "publics", required=True, multiple=True, type=click.Path(exists=True))
@click.option("--share", "share_files", required=True, multiple=True, type=click.Path(exists=True))
@passphrase_option
@guard
def receive(
    key_path: str,
    publics: tuple[str, ...],
    share_files: tuple[str, ...],
    passphrase_file: str | None,
) -> None:
    """Check the shares sent to this trustee and store its key share."""
    passphrase = _passphrase(passphrase_file, confirm=False)
    key = keystore.load(key_path, passphrase)
    pubs = check_public_keys(
        key.group, key.h_p, key.n, key.k, _read_publics(_group_name_of(key), publics)
    )
    received = {}
    for f in share_files:
        share = codec.decode(pathlib.Path(f).read_bytes(), EncryptedShare, key.group)
        if share.recipient != key.secrets.index:
            continue
        received[share.sender] = decrypt_share(
            key.group, key.h_p, key.secrets, share, pubs[share.sender]
        )
    finish(key.group, key.secrets, received, key.n)
    keystore.save(key_path, key, passphrase)
    k_joint = joint_key(key.group, list(pubs.values()))
    click.echo(f"all {len(received)} shares check out; key share stored in {key_path}")
    click.echo(f"joint key K fingerprint: {k_joint.hex()[:32]}… (compare with the other trustees)")


@trustee.command("joint-key")
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--public", "publics", required=True, multiple=True, type=click.Path(exists=True))
@click.option("--record", required=True, type=click.Path(file_okay=False))
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@guard
def joint_key_command(
    manifest: str, publics: tuple[str, ...], record: str, group_name: str
) -> None:
    """Administrator: check the public keys and start the record with K and H_E."""
    group = GROUPS[group_name]
    m = manifest_from_json(pathlib.Path(manifest).read_text(encoding="utf-8"))
    h_p, h_b = base_hash(group, m)
    pubs = check_public_keys(group, h_p, m.trustees, m.quorum, _read_publics(group_name, publics))
    k = joint_key(group, list(pubs.values()))
    election = Election(group, m, k)
    root = pathlib.Path(record)
    (root / Layout.TRUSTEES).mkdir(parents=True, exist_ok=True)
    (root / Layout.MANIFEST).write_bytes(m.canonical_bytes())
    (root / Layout.PARAMETERS).write_bytes(codec.encode(election.parameters()))
    for t in pubs.values():
        (root / Layout.trustee(t.index)).write_bytes(codec.encode(t))
    assert extended_base_hash(h_b, k) == election.h_e
    click.echo(f"joint key K fingerprint: {k.hex()[:32]}…; H_E = {election.h_e.hex_upper()}")


def check_decryptable(files: RecordFiles, no_board: bool) -> None:
    """What a trustee checks of a record before the key is used, beyond checks 1-6: a log
    from the bulletin board (a record without one could hold made-up ballots), unless the
    trustee says that this election ran without a board."""
    if files.board_entries is None and not no_board:
        fail(
            "the record has no bulletin board log (board/): its ballots cannot be shown to be "
            "the ones voters cast; refusing to decrypt (give --no-board only for an election "
            "that was run without a board, as its manifest says)"
        )


def check_election(key: keystore.TrusteeKey, election: Election) -> None:
    """The record is of the election this key was made for (H_P, and H_B when the key
    file keeps it: the manifest, with its board key, that the trustee saw at the ceremony)."""
    if election.h_p != key.h_p or election.group != key.group:
        fail("this key belongs to another election")
    if key.h_b is not None and election.h_b != key.h_b:
        fail(
            "the record's manifest is not the one this key was made for (H_B "
            f"{election.h_b.hex_upper()[:16]}…, the key's {key.h_b.hex_upper()[:16]}…)"
        )


@trustee.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--record", required=True, type=click.Path(exists=True, file_okay=False))
@no_board_option
@passphrase_option
@guard
def decrypt(key_path: str, record: str, no_board: bool, passphrase_file: str | None) -> None:
    """Verify the ballots and the tally of the record, then add this trustee's part."""
    key = keystore.load(key_path, _passphrase(passphrase_file, confirm=False))
    files = read_record(record)
    check_decryptable(files, no_board)
    checked = verify_tally_inputs(files)
    for w in checked.report.warnings:
        click.echo(f"warning: {w}", err=True)
    election = checked.election
    check_election(key, election)
    i = key.secrets.index
    x_i = public_share(election.group, trustee_commitments(checked.publics), i)
    partial = partial_decrypt(election, checked.tally, key.secrets, x_i, SystemRng())
    out = pathlib.Path(record) / Layout.decryption(i)
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(codec.encode(partial))
    click.echo(f"checked {checked.report.ballots} ballots and the tally; wrote {out}")


@trustee.command("combine")
@click.option("--record", required=True, type=click.Path(exists=True, file_okay=False))
@guard
def combine_command(record: str) -> None:
    """Administrator: check a quorum of partial decryptions and write results.json."""
    root = pathlib.Path(record)
    files = read_record(root)
    checked = verify_tally_inputs(files)
    partials = check_partials(checked, files)
    results = combine(checked.election, checked.tally, partials)
    (root / Layout.RESULTS).write_bytes(codec.encode(results))
    click.echo(f"results from trustees {list(results.trustees)} written to {root / Layout.RESULTS}")
    for c in results.contests:
        click.echo(f"  {c.contest}: " + ", ".join(f"{o.option} {o.votes}" for o in c.options))


# --- the same steps against a server (tohyo trustee remote …) ------------------------------
#
# The server (``/api/ceremony``) is a mailbox: the key file is made and kept here exactly as
# above, and only public messages, or shares already encrypted to their recipient, go out.


def server_answers(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Under :func:`guard`: a server answer without the fields a step reads (a wrong URL, an
    old or hostile server) ends in one line naming that, not in a stack trace."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (KeyError, TypeError, AttributeError, IndexError) as e:
            raise RemoteError(
                f"the server's answer is not what this step expects ({type(e).__name__}: {e})"
            ) from None

    return wrapper


def _token(token: str | None, token_file: str | None) -> str | None:
    if token_file:
        return pathlib.Path(token_file).read_text(encoding="utf-8").strip()
    return token


@trustee.group()
@click.option(
    "--server",
    required=True,
    envvar="TOHYO_SERVER",
    help="The election site's URL, e.g. https://vote.example.jp (env TOHYO_SERVER).",
)
@click.option(
    "--token",
    default=None,
    envvar="TOHYO_TRUSTEE_TOKEN",
    help="This trustee's enrolment token from the administrator (env TOHYO_TRUSTEE_TOKEN).",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Read the token from this file (keeps it out of the shell history).",
)
@click.pass_context
@guard
def remote(ctx: click.Context, server: str, token: str | None, token_file: str | None) -> None:
    """The ceremony and decryption through the election server instead of files."""
    s = Server(server, _token(token, token_file))
    if s.root.startswith("http://") and not is_loopback(s.root):
        click.echo("warning: plain http: the token travels unencrypted", err=True)
    ctx.obj = s


def _ceremony_election(
    s: Server, allow_test_group: bool = False
) -> tuple[dict[str, Any], Manifest, Group, HashValue, HashValue]:
    """The ceremony as the server describes it: (summary, manifest, group, H_P, H_B)."""
    c = s.get("/api/ceremony", auth=False)
    if c["group"] not in GROUPS:
        fail(f"the server names an unknown group {c['group']!r}")
    if c["group"] != "standard" and not allow_test_group:
        fail(
            f"the server's ceremony uses the insecure {c['group']!r} group; "
            "pass --allow-test-group only for a rehearsal"
        )
    group = GROUPS[c["group"]]
    m = manifest_from_canonical(document_bytes(c["manifest"]))
    h_p, h_b = base_hash(group, m)
    return c, m, group, h_p, h_b


def _server_publics(
    c: dict[str, Any], group: Group, h_p: HashValue, n: int, k: int
) -> dict[int, TrusteePublicKey]:
    if len(c["public_keys"]) < n:
        have = {p["index"] for p in c["public_keys"]}
        waiting = [i for i in range(1, n + 1) if i not in have]
        fail(f"waiting for the public keys of trustees {waiting}; try again later")
    keys = codec.from_documents(c["public_keys"], TrusteePublicKey, group)
    return check_public_keys(group, h_p, n, k, keys)


def _matching_key(
    key: keystore.TrusteeKey, group: Group, h_p: HashValue, me: dict[str, Any]
) -> None:
    if key.group != group or key.h_p != h_p:
        fail("this key file belongs to another election (group, n or k differ)")
    if me["trustee"] != key.secrets.index:
        fail(f"the token is trustee {me['trustee']}'s, the key file trustee {key.secrets.index}'s")


allow_test_option = click.option(
    "--allow-test-group",
    is_flag=True,
    help="Accept a ceremony in the small insecure test group (rehearsals only).",
)


@remote.command("status")
@click.pass_obj
@guard
@server_answers
def remote_status(s: Server) -> None:
    """Print this trustee's number and next step."""
    me = s.get("/api/ceremony/me")
    click.echo(json.dumps(me, indent=1))


@remote.command("init")
@click.option("--dir", "out", required=True, type=click.Path(file_okay=False))
@allow_test_option
@passphrase_option
@click.pass_obj
@guard
@server_answers
def remote_init(s: Server, out: str, allow_test_group: bool, passphrase_file: str | None) -> None:
    """Create this trustee's key from the server's manifest and post the public key."""
    me = s.get("/api/ceremony/me")
    c, m, group, h_p, h_b = _ceremony_election(s, allow_test_group)
    index = int(me["trustee"])
    d = pathlib.Path(out)
    key_path = d / f"trustee-{index}.key"
    pub_path = d / f"trustee-{index}.public.json"
    if key_path.exists():
        # A retry (the upload failed before): send the public key made then, never a new one.
        if not pub_path.exists():
            fail(f"{key_path} exists without {pub_path}; use a new --dir for a new election")
        public = codec.decode(pub_path.read_bytes(), TrusteePublicKey, group)
        if public.index != index:
            fail(f"{pub_path} is trustee {public.index}'s, the token trustee {index}'s")
    else:
        secrets_, public = new_trustee(group, h_p, index, m.quorum, SystemRng())
        passphrase = _passphrase(passphrase_file, confirm=True)
        keystore.check_passphrase(passphrase)
        d.mkdir(parents=True, exist_ok=True)
        keystore.save(
            key_path,
            keystore.TrusteeKey(group, h_p, m.trustees, m.quorum, secrets_, h_b),
            passphrase,
        )
        pub_path.write_bytes(codec.encode(public))
        click.echo(f"wrote {key_path} (encrypted; keep it and back it up)")
    s.post("/api/ceremony/public-key", codec.encode(public))
    click.echo(
        f"trustee {index} of {m.trustees} (quorum {m.quorum}) for election {m.election_id}: "
        "public key posted"
    )
    echo_election(h_b, m.board)


@remote.command("shares")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@allow_test_option
@passphrase_option
@click.pass_obj
@guard
@server_answers
def remote_shares(
    s: Server, key_path: str, allow_test_group: bool, passphrase_file: str | None
) -> None:
    """Check every trustee's public key, then post an encrypted share for each other one."""
    key = keystore.load(key_path, _passphrase(passphrase_file, confirm=False))
    me = s.get("/api/ceremony/me")
    c, m, group, h_p, _ = _ceremony_election(s, allow_test_group)
    _matching_key(key, group, h_p, me)
    pubs = _server_publics(c, group, h_p, m.trustees, m.quorum)
    to_send = [int(i) for i in me["shares_to_send"]]
    if not to_send:
        click.echo(f"checked {len(pubs)} public keys; every share is already posted")
        return
    rng = SystemRng()
    docs = [
        codec.to_document(encrypt_share(group, h_p, key.secrets, pubs[ell], rng)) for ell in to_send
    ]
    done = s.post("/api/ceremony/shares", codec.dumps({"shares": docs}))
    click.echo(
        f"checked {len(pubs)} public keys; posted shares for trustees {to_send} "
        f"(new {done['stored']}, replaced {done['replaced']})"
    )


@remote.command("receive")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@allow_test_option
@passphrase_option
@click.pass_obj
@guard
@server_answers
def remote_receive(
    s: Server, key_path: str, allow_test_group: bool, passphrase_file: str | None
) -> None:
    """Check the shares sent to this trustee, store the key share, confirm (or complain)."""
    passphrase = _passphrase(passphrase_file, confirm=False)
    key = keystore.load(key_path, passphrase)
    me = s.get("/api/ceremony/me")
    c, m, group, h_p, _ = _ceremony_election(s, allow_test_group)
    _matching_key(key, group, h_p, me)
    pubs = _server_publics(c, group, h_p, m.trustees, m.quorum)
    docs = s.get("/api/ceremony/shares")["shares"]
    received = {}
    for share in codec.from_documents(docs, EncryptedShare, group) if docs else []:
        try:
            received[share.sender] = decrypt_share(
                group, h_p, key.secrets, share, pubs[share.sender]
            )
        except ShareError as e:
            s.post(
                "/api/ceremony/complaint",
                json.dumps({"sender": e.trustee, "reason": str(e)}).encode(),
            )
            fail(f"{e}; a complaint was posted: trustee {e.trustee} must send a new share")
    waiting = sorted(set(range(1, m.trustees + 1)) - {key.secrets.index} - set(received))
    if waiting:
        fail(f"waiting for shares from trustees {waiting}; try again later")
    finish(group, key.secrets, received, m.trustees)
    keystore.save(key_path, key, passphrase)
    k_joint = joint_key(group, list(pubs.values()))
    s.post("/api/ceremony/confirmation", json.dumps({"joint_key": k_joint.hex()}).encode())
    click.echo(f"all {len(received)} shares check out; key share stored in {key_path}; confirmed")
    click.echo(f"joint key K fingerprint: {k_joint.hex()[:32]}… (compare with the other trustees)")


def _interactive() -> bool:
    """True when a person can answer a question (a test replaces this)."""
    return sys.stdin.isatty()


def _hex_pin(value: str | None, what: str, digits: int) -> str | None:
    if value is None:
        return None
    pin = value.strip().replace(" ", "").replace(":", "").upper()
    if len(pin) < digits or any(ch not in "0123456789ABCDEF" for ch in pin):
        raise click.BadParameter(f"{what}: at least {digits} hexadecimal digits")
    return pin


@remote.command("decrypt")
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--record",
    default=None,
    type=click.Path(file_okay=False),
    help="Keep the downloaded record here (a new or empty directory; default: a temporary one).",
)
@click.option(
    "--board-key",
    "board_key_pin",
    default=None,
    metavar="HEX",
    help="The board's public key as published outside this server (64 hex digits); "
    "the record must be signed with it. Without it, the command asks.",
)
@click.option(
    "--expect-key",
    "joint_pin",
    default=None,
    metavar="HEX",
    help="The joint key K fingerprint that `remote receive` printed (at least 16 hex "
    "digits); the record's K must match it.",
)
@passphrase_option
@click.pass_obj
@guard
@server_answers
def remote_decrypt(
    s: Server,
    key_path: str,
    record: str | None,
    board_key_pin: str | None,
    joint_pin: str | None,
    passphrase_file: str | None,
) -> None:
    """Download the record, verify the ballots and the tally, post this trustee's part.

    The record comes from the server, so before the key is used the command shows what it
    is about to decrypt (election, H_E, the joint key's fingerprint, the board key that
    signed the log) and goes on only if the board key matches ``--board-key`` or, without
    it, the trustee confirms on the terminal. A server that made up a record under a key of
    its own (say, one ballot copied from the real board as the whole "tally") is stopped
    there, before anything is decrypted or posted.
    """
    board_pin = _hex_pin(board_key_pin, "--board-key", 64)
    k_pin = _hex_pin(joint_pin, "--expect-key", 16)
    if board_pin is None and not _interactive():
        fail(
            "give --board-key HEX (the board's public key, published outside this server) "
            "or run the command on a terminal to compare it yourself"
        )
    key = keystore.load(key_path, _passphrase(passphrase_file, confirm=False))
    me = s.get("/api/ceremony/me")
    if me["trustee"] != key.secrets.index:
        fail(f"the token is trustee {me['trustee']}'s, the key file trustee {key.secrets.index}'s")
    with tempfile.TemporaryDirectory(prefix="tohyo-record-") as tmp:
        root = download_record(s, record or tmp)
        files = read_record(root)
        checked = verify_tally_inputs(files)  # the tree heads too, under the board's key
        board_key = str(json.loads(files.board_key or b"{}").get("public_key", "")).upper()
    for w in checked.report.warnings:
        click.echo(f"warning: {w}", err=True)
    election = checked.election
    check_election(key, election)
    k_print = election.key.element.hex()[:32]  # as `remote receive` prints it
    click.echo(
        f"election {election.manifest.election_id}: checked {checked.report.ballots} ballots "
        "and the tally"
    )
    click.echo(f"  H_E:                   {election.h_e.hex_upper()}")
    click.echo(f"  joint key fingerprint: {k_print}…")
    click.echo(f"  board key:             {board_key}")
    if k_pin is not None and not k_print.upper().startswith(k_pin):
        fail(f"the record's joint key fingerprint {k_print}… is not --expect-key {k_pin}")
    if board_pin is not None:
        if board_key != board_pin:
            fail(f"the record is signed by board key {board_key}, not --board-key {board_pin}")
    elif not click.confirm(
        "Is this the board key published for this election (compare every digit)?",
        default=False,
    ):
        fail("not confirmed; nothing was decrypted or posted")
    i = key.secrets.index
    x_i = public_share(election.group, trustee_commitments(checked.publics), i)
    partial = partial_decrypt(election, checked.tally, key.secrets, x_i, SystemRng())
    done = s.post("/api/ceremony/decryption", codec.encode(partial))
    click.echo(f"partial decryption of trustee {i} posted (board entry {done['entry']})")
