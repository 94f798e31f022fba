"""Instantiation: base-model wrappers, heads and tasks that combine into one PreTrainedModel."""
