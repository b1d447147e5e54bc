"""The simulation's commands: ``tohyo demo``, ``tohyo rehearsal finish``, and the stand-in
CA's and simulated cards' ``tohyo jpki testca …`` / ``tohyo jpki card sign`` (added to the
board layer's ``jpki`` group by the root command). Never for a real vote."""

from __future__ import annotations

import json
import os
import pathlib
import sys
from datetime import timedelta

import click
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from bulletin.jpki.certs import POLICY_PRODUCTION, unarmor
from bulletin.jpki.cli import parse_time
from e2e.cli import guard
from e2e.group import GROUPS
from sim.testca import PASSWORD, SimulatedCard, TestCA, new_key, sign_submission

# --- stand-in CA ------------------------------------------------------------------------------


@click.group()
def testca() -> None:
    """A stand-in CA (never for a real vote): init, issue, revoke, crl, vcard."""


@testca.command("init")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--not-before", help="Start of validity (ISO 8601); default now.")
@click.option("--years", default=10, show_default=True)
@guard
def testca_init(directory: str, not_before: str | None, years: int) -> None:
    """Create a CA in DIRECTORY (ca.key, ca.pem, state.json)."""
    ca = TestCA.create(not_before=parse_time(not_before), years=years, path=pathlib.Path(directory))
    click.echo(f"CA {ca.certificate.subject.rfc4514_string()} in {directory}/ca.pem")


def _read_password(password_stdin: bool, confirm: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("signing password", hide_input=True, confirmation_prompt=confirm)


@testca.command("issue")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--name", required=True, help="氏名, e.g. 筑波　花子 (full-width space).")
@click.option("--birth", required=True, help="生年月日 EYYYYMMDD, e.g. 319800217.")
@click.option("--sex", required=True, type=click.Choice(["1", "2", "9"]))
@click.option("--address", required=True, help="住所; digits and - become full-width.")
@click.option("--address-flags", help="Substitute-character flags (default all 0).")
@click.option("--name-flags", help="Substitute-character flags (default all 0).")
@click.option("--half-width", is_flag=True, help="Keep the address's digits as given.")
@click.option("--issued", help="Start of validity (ISO 8601); default now.")
@click.option("--not-after", help="End of validity; default the 5th birthday after issue.")
@click.option("--policy", "policies", multiple=True, default=(POLICY_PRODUCTION,))
@click.option("--card", required=True, type=click.Path(dir_okay=False), help="Card file out.")
@click.option("--cert", type=click.Path(dir_okay=False), help="Also write the certificate (PEM).")
@click.option("--password-stdin", is_flag=True, help="Read the signing password from stdin.")
@guard
def testca_issue(
    directory: str,
    name: str,
    birth: str,
    sex: str,
    address: str,
    address_flags: str | None,
    name_flags: str | None,
    half_width: bool,
    issued: str | None,
    not_after: str | None,
    policies: tuple[str, ...],
    card: str,
    cert: str | None,
    password_stdin: bool,
) -> None:
    """Issue a signing certificate and put it on a simulated card (a 0600 card file)."""
    ca = TestCA.load(pathlib.Path(directory))
    if pathlib.Path(card).exists():
        raise ValueError(f"{card} exists")
    password = _read_password(password_stdin, confirm=True)
    if not PASSWORD.match(password):
        raise ValueError("the signing password is 6 to 16 capital letters (A-Z) and digits")
    key = new_key()
    c = ca.issue(
        name=name,
        birth=birth,
        sex=sex,
        address=address,
        issued=parse_time(issued),
        not_after=parse_time(not_after) if not_after else None,
        key=key,
        name_flags=name_flags,
        address_flags=address_flags,
        fullwidth=not half_width,
        policies=policies,
    )
    SimulatedCard.create(key, c, password, path=pathlib.Path(card))
    if cert:
        pathlib.Path(cert).write_bytes(c.public_bytes(serialization.Encoding.PEM))
    click.echo(f"serial {c.serial_number:X}, card {card}")


@testca.command("revoke")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.argument("serial", required=False)
@click.option("--cert", type=click.Path(exists=True, dir_okay=False), help="Or the certificate.")
@click.option("--at", help="Revocation time (ISO 8601); default now.")
@click.option("--reason", default="affiliation_changed", show_default=True)
@guard
def testca_revoke(
    directory: str, serial: str | None, cert: str | None, at: str | None, reason: str
) -> None:
    """Revoke a certificate (by hex SERIAL or --cert) for the next CRL."""
    ca = TestCA.load(pathlib.Path(directory))
    if cert:
        number = x509.load_der_x509_certificate(unarmor(pathlib.Path(cert).read_bytes())[0])
        value = number.serial_number
    elif serial:
        value = int(serial.replace(":", ""), 16)
    else:
        raise ValueError("give SERIAL or --cert")
    ca.revoke(value, parse_time(at), reason)
    click.echo(f"revoked {value:X}")


@testca.command("crl")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--this-update", help="ISO 8601; default now.")
@click.option("--next-update", help="ISO 8601; default thisUpdate + --hours.")
@click.option("--hours", default=48, show_default=True)
@guard
def testca_crl(
    directory: str, out: str, this_update: str | None, next_update: str | None, hours: int
) -> None:
    """Write a CRL (DER) listing every revocation so far."""
    ca = TestCA.load(pathlib.Path(directory))
    start = parse_time(this_update)
    end = parse_time(next_update) if next_update else start + timedelta(hours=hours)
    pathlib.Path(out).write_bytes(ca.crl(start, end))
    click.echo(f"CRL {out}: {len(ca.state['revoked'])} revoked, next update {end.isoformat()}")


@testca.command("vcard")
@click.option("--card", "card_file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--port",
    default=35963,
    show_default=True,
    help="vpcd's port (Debian's reader.conf: DEVICENAME /dev/null:0x8C7B).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Where pcscd runs.")
@click.option(
    "--ca", type=click.Path(exists=True, dir_okay=False), help="The CA certificate, for EF 0002."
)
@guard
def testca_vcard(card_file: str, port: int, host: str, ca: str | None) -> None:
    """Insert a simulated card into pcscd's virtual reader (vsmartcard's vpcd) as a virtual
    My Number Card, until Ctrl-C pulls it. Its PIN counter is kept in the card file."""
    import time

    from sim.vcard import VirtualCard, serve_vpcd

    ca_der = unarmor(pathlib.Path(ca).read_bytes())[0] if ca else None
    vcard = VirtualCard.from_file(pathlib.Path(card_file), ca_certificate=ca_der)
    link = serve_vpcd(vcard, host, port)
    click.echo(f"virtual card {card_file} for vpcd at {host}:{port}; Ctrl-C pulls it")
    shown = None
    try:
        while True:
            inserted = link.connected.wait(0.5)
            if inserted != shown:
                click.echo("in the reader" if inserted else "waiting for vpcd (is pcscd running?)")
                shown = inserted
            if inserted:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        link.close()
        click.echo(f"pulled ({vcard.tries_left} tries left)")


@click.group()
def card() -> None:
    """A simulated card (from `jpki testca issue`)."""


@card.command("sign")
@click.argument("card_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--h-e", "h_e", required=True, help="The election's H_E (hex).")
@click.option("--code", required=True, help="The ballot's confirmation code (hex).")
@click.option("--challenge", required=True, help="The server's challenge (hex).")
@click.option("--password-stdin", is_flag=True, help="Read the signing password from stdin.")
@guard
def card_sign(card_file: str, h_e: str, code: str, challenge: str, password_stdin: bool) -> None:
    """Sign a ballot with a simulated card; print the submission's ``auth`` object."""
    c = SimulatedCard.load(pathlib.Path(card_file))
    password = _read_password(password_stdin, confirm=False)
    auth = sign_submission(
        c, password, bytes.fromhex(h_e), bytes.fromhex(code), bytes.fromhex(challenge)
    )
    click.echo(json.dumps(auth))


# --- the demo and rehearsals -------------------------------------------------------------


@click.group()
def rehearsal() -> None:
    """A rehearsal election in the browser (after tohyo serve --rehearsal DIR)."""


@rehearsal.command("finish")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@guard
def rehearsal_finish(directory: str) -> None:
    """Close, tally, decrypt with a quorum, publish the results, export the record."""
    from sim import rehearsal as rh

    out = rh.finish(pathlib.Path(directory), click.echo)
    click.echo(f"verify it with: tohyo verify {out}")


@click.command()
@click.option("--voters", default=1000, show_default=True, help="Simulated voters.")
@click.option("--trustees", default=5, show_default=True, help="Trustees n.")
@click.option("--quorum", default=3, show_default=True, help="Quorum k.")
@click.option("--absent", default=1, show_default=True, help="Trustees absent at decryption.")
@click.option("--seed", default=None, help="Seed for a reproducible simulation.")
@click.option("--out", default="demo-record", show_default=True, type=click.Path(file_okay=False))
@click.option("--group", "group_name", type=click.Choice(sorted(GROUPS)), default="standard")
@click.option("--jobs", "-j", type=int, default=None, help="Processes (default: all cores).")
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Manifest JSON (default: examples/tsukuba-2025.json).",
)
@click.option("--db", default=None, help="Board database URL (default: a temporary SQLite file).")
def demo(
    voters: int,
    trustees: int,
    quorum: int,
    absent: int,
    seed: str | None,
    out: str,
    group_name: str,
    jobs: int | None,
    manifest: str | None,
    db: str | None,
) -> None:
    """Run a whole simulated election through the board; export and verify its record."""
    from sim.demo import EXAMPLE, load_manifest, run_demo

    if not 1 <= quorum <= trustees:
        raise click.BadParameter("need 1 <= quorum <= trustees", param_hint="--quorum")
    if voters < 1:
        raise click.BadParameter("need at least one voter", param_hint="--voters")
    m = load_manifest(pathlib.Path(manifest) if manifest else EXAMPLE)
    ok = run_demo(
        GROUPS[group_name],
        m,
        voters,
        trustees,
        quorum,
        absent,
        seed,
        pathlib.Path(out),
        jobs or os.cpu_count() or 1,
        click.echo,
        db,
    )
    click.echo("")
    click.echo("To vote yourself in a browser (a rehearsal election with simulated cards):")
    click.echo("  .venv/bin/tohyo serve --rehearsal rehearsal")
    click.echo("  then open http://127.0.0.1:8000/booth (card files and passwords are on the")
    click.echo("  booth's signing step); afterwards: .venv/bin/tohyo rehearsal finish rehearsal")
    sys.exit(0 if ok else 1)


def commands() -> list[click.Command]:
    """The commands this layer contributes to the root ``tohyo`` group."""
    return [demo, rehearsal]
