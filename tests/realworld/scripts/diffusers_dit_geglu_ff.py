"""diffusers: the feed-forward of one block of a DiT-style transformer replaced by a GEGLU feed-forward
(`diffusers.models.attention.FeedForward`) with a wider inner dimension."""

import torch
from diffusers import DiTTransformer2DModel
from diffusers.models.attention import FeedForward

torch.manual_seed(0)
model = DiTTransformer2DModel(
    num_attention_heads=2,
    attention_head_dim=8,
    in_channels=4,
    out_channels=8,
    num_layers=2,
    sample_size=8,
    patch_size=2,
    num_embeds_ada_norm=10,
    norm_num_groups=4,
)
model.transformer_blocks[1].ff = FeedForward(16, mult=6, activation_fn="geglu")

example_inputs = {
    "hidden_states": torch.randn(1, 4, 8, 8),
    "timestep": torch.tensor([3]),
    "class_labels": torch.tensor([1]),
}
