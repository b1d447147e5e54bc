"""``python -m tohyo``: the same as the ``tohyo`` command."""

from tohyo.cli import main

main()
