"""``tohyo admin``: the election administrator's commands."""

from __future__ import annotations

import sys

import click

from web.admin.password import MIN_PASSWORD, hash_password


@click.group("admin")
def admin_cli() -> None:
    """The election administrator's commands."""


@admin_cli.command("password")
def password_command() -> None:
    """Read the administrator password (prompt, or one line on stdin) and print its hash.

    Put the printed line in a file and name it in the server's configuration (``tohyo serve
    --admin-password-file FILE``); the password itself is stored nowhere.
    """
    if sys.stdin.isatty():
        pw = click.prompt("administrator password", hide_input=True, confirmation_prompt=True)
    else:
        pw = sys.stdin.readline().rstrip("\r\n")
    if len(pw) < MIN_PASSWORD:
        click.echo(f"error: the password needs at least {MIN_PASSWORD} characters", err=True)
        sys.exit(2)
    click.echo(hash_password(pw))
