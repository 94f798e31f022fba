"""Editing: LibCST rewrites of source, one small transformer per kind of edit."""
