"""``tohyo signer``: the local signer on the voter's PC (:mod:`signer.server`)."""

from __future__ import annotations

import click

DEFAULT_PORT = 47611  # the booth's default (web SiteSettings.signer_url)


@click.command("signer")
@click.option(
    "--site",
    required=True,
    help="The official voting site's origin, e.g. https://vote.city.tsukuba.lg.jp: "
    "only its booth may ask this signer for a signature.",
)
@click.option("--port", default=DEFAULT_PORT, show_default=True, help="Loopback port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="A loopback address.")
@click.option("--reader", help="The PC/SC reader to use (default: the first with a card).")
def signer(site: str, port: int, host: str, reader: str | None) -> None:
    """Sign ballots with the My Number Card in this PC's card reader, for the booth in this
    PC's browser. Listens on loopback only; the password is typed into the signer's own
    page, never into the site."""
    import waitress

    from signer.pcsc import open_card, readers
    from signer.server import check_host, create_signer

    try:
        check_host(host)
        app = create_signer(site, lambda: open_card(reader), port)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:
        found = readers()
    except Exception as e:  # only a note at start: each signature says more
        found = []
        click.echo(f"note: {e}", err=True)
    click.echo(f"card readers: {', '.join(found) if found else 'none yet'}")
    click.echo(f"tohyo signer for {site} on http://{host}:{port} (Ctrl-C stops it)")
    waitress.serve(app, host=host, port=port, threads=4, ident="tohyo-signer")
