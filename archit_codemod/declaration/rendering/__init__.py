"""rendering stage of the declaration pipeline (see docs/architecture.md)."""
