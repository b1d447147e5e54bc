"""The composition root: the ``tohyo`` command (:mod:`tohyo.cli`) and ``tohyo serve``."""
