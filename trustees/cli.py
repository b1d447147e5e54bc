"""``tohyo trustee …``: one trustee's side of the key ceremony and of decryption.

Each trustee runs these on its own machine; messages are JSON files carried between the
trustees by the administrator (who also runs ``joint-key`` and ``combine``):

    init      --manifest M --index I --dir D      → D/trustee-I.key, D/trustee-I.public.json
    shares    --key K --public P… --out OUT       → OUT/share-I-to-L.json for each L
    receive   --key K --public P… --share S…      → checks the shares, stores the key share
    joint-key --manifest M --public P… --record R → R/manifest.json, parameters.json, trustees/
    decrypt   --key K --record R                  → R/decryptions/trustee-I.json
    combine   --record R                          → R/results.json

The passphrase is asked for on the terminal (or read from ``--passphrase-file``); secrets
are stored only encrypted (trustees.keystore) and are never printed.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import click

from e2e import codec
from e2e.cli import fail, guard
from e2e.election import Election, TrusteePublicKey, base_hash, extended_base_hash, joint_key
from e2e.group import GROUPS
from e2e.manifest import manifest_from_json
from e2e.record import read_record
from e2e.rng import SystemRng
from e2e.tally import combine, trustee_commitments
from e2e.threshold import public_share
from e2e.verify import check_partials, verify_tally_inputs
from trustees import keystore
from trustees.ceremony import (
    EncryptedShare,
    check_public_keys,
    decrypt_share,
    encrypt_share,
    finish,
    new_trustee,
)
from trustees.decrypt import partial_decrypt


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


@trustee.command()
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--index", required=True, type=int, help="This trustee's number, 1..n.")
@click.option("--dir", "out", required=True, type=click.Path(file_okay=False))
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@passphrase_option
@guard
def init(manifest: str, index: int, out: str, group_name: str, passphrase_file: str | None) -> None:
    """Create this trustee's secrets (encrypted) and its public key message."""
    m = manifest_from_json(pathlib.Path(manifest).read_text(encoding="utf-8"))
    if not 1 <= index <= m.trustees:
        fail(f"--index must be between 1 and {m.trustees}")
    group = GROUPS[group_name]
    h_p, _ = base_hash(group, m)
    secrets_, public = new_trustee(group, h_p, index, m.quorum, SystemRng())
    passphrase = _passphrase(passphrase_file, confirm=True)
    d = pathlib.Path(out)
    d.mkdir(parents=True, exist_ok=True)
    key_path = d / f"trustee-{index}.key"
    if key_path.exists():
        fail(f"{key_path} exists; refusing to overwrite a trustee key")
    keystore.save(
        key_path, keystore.TrusteeKey(group, h_p, m.trustees, m.quorum, secrets_), passphrase
    )
    pub_path = d / f"trustee-{index}.public.json"
    pub_path.write_bytes(codec.encode(public))
    click.echo(f"wrote {key_path} (encrypted) and {pub_path} (send this to the administrator)")


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
    (root / "trustees").mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_bytes(m.canonical_bytes())
    (root / "parameters.json").write_bytes(codec.encode(election.parameters()))
    for t in pubs.values():
        (root / "trustees" / f"trustee-{t.index}.json").write_bytes(codec.encode(t))
    assert extended_base_hash(h_b, k) == election.h_e
    click.echo(f"joint key K fingerprint: {k.hex()[:32]}…; H_E = {election.h_e.hex_upper()}")


@trustee.command()
@click.option("--key", "key_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--record", required=True, type=click.Path(exists=True, file_okay=False))
@passphrase_option
@guard
def decrypt(key_path: str, record: str, passphrase_file: str | None) -> None:
    """Verify the ballots and the tally of the record, then add this trustee's part."""
    key = keystore.load(key_path, _passphrase(passphrase_file, confirm=False))
    files = read_record(record)
    checked = verify_tally_inputs(files)
    election = checked.election
    if election.h_p != key.h_p:
        fail("this key belongs to another election")
    i = key.secrets.index
    x_i = public_share(election.group, trustee_commitments(checked.publics), i)
    partial = partial_decrypt(election, checked.tally, key.secrets, x_i, SystemRng())
    out = pathlib.Path(record) / "decryptions" / f"trustee-{i}.json"
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
    (root / "results.json").write_bytes(codec.encode(results))
    click.echo(f"results from trustees {list(results.trustees)} written to {root / 'results.json'}")
    for c in results.contests:
        click.echo(f"  {c.contest}: " + ", ".join(f"{o.option} {o.votes}" for o in c.options))
