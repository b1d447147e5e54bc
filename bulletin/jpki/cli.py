"""``tohyo jpki check`` (a certificate's fields and verdict) and ``tohyo audit evidence …``
(export and re-verify the evidence store offline). The stand-in CA's and simulated cards'
commands (``tohyo jpki testca …``, ``tohyo jpki card sign``) belong to the simulation
(:mod:`sim.cli`); the root command adds them to this group.

Exit codes: 0 success (``check``: eligible; ``audit evidence verify``: every record
verifies), 1 a negative answer (not eligible; some record fails), 2 unusable input.
"""

from __future__ import annotations

import pathlib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import click

from bulletin.jpki.certs import (
    ERAS,
    JLIS_ROOTS,
    POLICY_PRODUCTION,
    SEXES,
    JpkiCertificate,
    jlis_anchors,
    load_anchors,
    load_crl,
    parse_certificate,
)
from bulletin.jpki.errors import JpkiRefusal
from bulletin.jpki.evidence import (
    DirectoryEvidenceStore,
    audit,
    check_record,
    export,
    read_export,
)
from bulletin.jpki.verify import TrustConfig, check_certificate
from e2e.cli import fail, guard
from e2e.errors import TohyoError


def parse_time(text: str | None) -> datetime:
    """ISO 8601 with an offset (2025-03-01T12:00:00+09:00); None → now."""
    if text is None:
        return datetime.now(UTC)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time") from None
    if t.tzinfo is None:
        raise ValueError(f"{text!r} has no time-zone offset (e.g. +09:00)")
    return t


def trust_config(
    anchors: Sequence[str],
    crls: Sequence[str],
    policies: Sequence[str],
    rules: Sequence[str] | None,
    require_crl: bool,
) -> TrustConfig:
    """The configuration from the options; without ``--anchor``, the shipped J-LIS roots."""
    if anchors:
        loaded = [a for path in anchors for a in load_anchors(pathlib.Path(path).read_bytes())]
    else:
        loaded = jlis_anchors()
    crl_list = [load_crl(pathlib.Path(p).read_bytes(), loaded) for p in crls]
    return TrustConfig.build(loaded, crl_list, policies, rules or None, require_crl)


def default_anchor_lines() -> list[str]:
    """Which roots a command without ``--anchor`` trusts (so that nobody mistakes it)."""
    lines = ["信頼の起点 anchors:       同梱のJ-LISルート / the shipped J-LIS roots (no --anchor)"]
    for name, anchor in zip(JLIS_ROOTS, jlis_anchors(), strict=True):
        valid = f"{anchor.not_before.date()} – {anchor.not_after.date()}"
        lines.append(f"  {name} SHA-256 {anchor.fingerprint} ({valid})")
    return lines


anchor_option = click.option(
    "--anchor",
    "anchors",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A trust anchor (PEM, may hold several, or DER). Repeat for each. "
    "Default: the J-LIS signing CA roots shipped with tohyo (docs/jpki.md).",
)
crl_option = click.option(
    "--crl",
    "crls",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A CRL file (DER or PEM). Repeat for each.",
)
policy_option = click.option(
    "--policy",
    "policies",
    multiple=True,
    default=(POLICY_PRODUCTION,),
    show_default=True,
    help="An accepted certificatePolicies OID. Repeat for each.",
)
rule_option = click.option(
    "--rule",
    "rules",
    multiple=True,
    help="An eligible address prefix, e.g. 茨城県つくば市. Repeat for each.",
)


@click.group()
def jpki() -> None:
    """JPKI signing certificates: check one; a stand-in CA and simulated cards."""


# --- check ------------------------------------------------------------------------------------


def _describe(cert: JpkiCertificate) -> list[str]:
    lines = [
        f"発行者 issuer:           {cert.issuer_text}",
        f"主体 subject:            {cert.subject_text}",
        f"シリアル番号 serial:     {cert.serial:X}",
        f"有効期間 validity:       {cert.not_before.isoformat()} – {cert.not_after.isoformat()}",
        f"鍵 key:                  {cert.key_algorithm} {cert.key_bits or ''}".rstrip(),
        f"ポリシー policies:       {', '.join(cert.policies or ()) or '-'}"
        + (" (critical)" if cert.policies_critical else ""),
        f"鍵用途 key usage:        {', '.join(sorted(cert.key_usage or ())) or '-'}",
    ]
    h = cert.holder
    if h is None:
        lines.append(f"JPKI fields:             unreadable ({cert.profile_problem})")
        return lines
    era = ERAS.get(h.birth[0], "?")
    sex = SEXES.get(h.sex, ("その他", "other"))
    lines += [
        f"氏名 name:               {h.name}",
        f"生年月日 birth date:     {h.birth[1:5]}-{h.birth[5:7]}-{h.birth[7:9]} ({era})",
        f"性別 sex:                {h.sex} ({sex[0]} / {sex[1]})",
        f"住所 address:            {h.address}",
        f"代替文字 substitutes:    name {h.name_flags}, address {h.address_flags}",
    ]
    return lines


@jpki.command()
@anchor_option
@crl_option
@policy_option
@rule_option
@click.option("--at", help="The time to judge at (ISO 8601 with offset); default now.")
@click.argument("cert", type=click.Path(exists=True, dir_okay=False))
def check(
    anchors: tuple[str, ...],
    crls: tuple[str, ...],
    policies: tuple[str, ...],
    rules: tuple[str, ...],
    at: str | None,
    cert: str,
) -> None:
    """Show a certificate's fields (for the holder's own eyes) and whether it may vote.

    Exit 0 eligible, 1 not eligible, 2 unusable input.
    """
    try:
        when = parse_time(at)
        config = trust_config(anchors, crls, policies, rules, require_crl=bool(crls))
        data = pathlib.Path(cert).read_bytes()
    except (TohyoError, OSError, ValueError) as e:
        fail(str(e))
    try:
        parsed = parse_certificate(data, allow_pem=True)
    except JpkiRefusal as e:
        fail(f"{pathlib.Path(cert).name}: {e.en} ({e.detail})")
    for line in _describe(parsed):
        click.echo(line)
    click.echo(f"判定時刻 judged at:      {when.isoformat()}")
    if not anchors:
        for line in default_anchor_lines():
            click.echo(line)
    try:
        verdict = check_certificate(parsed, config, when)
    except JpkiRefusal as e:
        click.echo(f"判定 verdict:            投票できません / NOT ELIGIBLE [{e.code}]")
        click.echo(f"  {e.ja}")
        click.echo(f"  {e.en}" + (f" ({e.detail})" if e.detail else ""))
        sys.exit(1)
    click.echo(f"信頼の起点 anchor:        SHA-256 {verdict.anchor.fingerprint}")
    if not verdict.revocation_checked:
        click.echo("失効確認 revocation:     未確認 / not checked (no --crl given)")
    if verdict.prefix is None:
        click.echo("住所 address rule:       未確認 / not checked (no --rule given)")
        click.echo("判定 verdict:            証明書は有効 / CERTIFICATE VALID")
    else:
        click.echo(f"判定 verdict:            投票できます / ELIGIBLE ({verdict.prefix})")


# --- audit ------------------------------------------------------------------------------------


@click.group(name="audit")
def audit_group() -> None:
    """Audits that need access-controlled data (the JPKI evidence store)."""


@audit_group.group()
def evidence() -> None:
    """The JPKI evidence store: export it, re-verify it offline."""


@evidence.command("export")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="JSON Lines, 0600.")
@guard
def evidence_export(store: str, out: str) -> None:
    """Export an evidence directory to one file for an auditor (personal data: handle with care)."""
    n = export(DirectoryEvidenceStore(pathlib.Path(store)), pathlib.Path(out))
    click.echo(f"{n} records to {out}")


@evidence.command("verify")
@anchor_option
@crl_option
@policy_option
@rule_option
@click.option(
    "--key",
    type=click.Path(exists=True, dir_okay=False),
    help="The pseudonym key (hex in a file): also check each pseudonym.",
)
@click.option("--no-crl", is_flag=True, help="Do not require a CRL for each receipt time.")
@click.option(
    "--record",
    type=click.Path(exists=True, file_okay=False),
    help="An election record: every cast ballot in it must have verified evidence.",
)
@click.argument("source", type=click.Path(exists=True))
@guard
def evidence_verify(
    anchors: tuple[str, ...],
    crls: tuple[str, ...],
    policies: tuple[str, ...],
    rules: tuple[str, ...],
    key: str | None,
    no_crl: bool,
    record: str | None,
    source: str,
) -> None:
    """Re-verify every record (an export or an evidence directory) at its receipt time.

    Prints one line per record (challenge, pseudonym, confirmation code, result), no
    personal data; with --record, also each cast ballot lacking verified evidence.
    Exit 0 if all verify, 1 otherwise.
    """
    if not rules:
        raise ValueError("give the election's address rule with --rule")
    config = trust_config(anchors, crls, policies, rules, require_crl=not no_crl)
    if not anchors:
        for line in default_anchor_lines():
            click.echo(line, err=True)
    secret = bytes.fromhex(pathlib.Path(key).read_text().strip()) if key else None
    records = list(read_export(pathlib.Path(source)))
    lines = audit(records, config, secret)
    bad = 0
    for line in lines:
        click.echo(f"{line.challenge} {line.pseudonym} {line.confirmation_code} {line.result}")
        bad += line.result != "ok"
    click.echo(f"{len(lines)} records, {len(lines) - bad} verify, {bad} fail", err=True)
    problems = check_record(pathlib.Path(record), records, lines) if record else []
    for problem in problems:
        click.echo(f"record: {problem}")
    sys.exit(1 if bad or problems else 0)
