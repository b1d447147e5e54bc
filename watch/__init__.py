"""Watching the board from outside: the witness (docs/protocol.md §8.4).

A witness is run by an organisation independent of the city. It follows the board's
offered checkpoints, cosigns each one only if a consistency proof shows that it extends
the last one it cosigned (C2SP tlog-witness, pulled rather than pushed: the witness calls
the board, so it needs no open port), keeps that promise in a durable state file, and
raises an alert, with the board-signed evidence, when the board shows it a fork.

* :mod:`watch.witness`: the state, the add-checkpoint checks, the board client and the
  polling loop.
* :mod:`watch.cli`: ``tohyo witness keygen | run | show``.

Imports only ``e2e`` from the project: a witness trusts nothing of the board's code.
"""
