"""Emitting: from a plan to the files of the output (subclass module or vendored copies)."""
