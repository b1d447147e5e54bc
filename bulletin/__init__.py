"""The bulletin board: transparency log and ballot acceptance (layer 3; not yet built)."""
