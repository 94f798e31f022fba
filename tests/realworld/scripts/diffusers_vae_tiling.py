"""diffusers: a VAE with tiled and sliced decoding enabled (`enable_tiling()`, `enable_slicing()`), the
memory-saving switches of diffusers' inference guides."""

import torch
from diffusers import AutoencoderKL

torch.manual_seed(0)
model = AutoencoderKL(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    block_out_channels=(8, 16),
    latent_channels=4,
    norm_num_groups=4,
    sample_size=32,
)
model.enable_tiling()
model.tile_sample_min_size = 16
model.tile_latent_min_size = 8
model.enable_slicing()

example_inputs = {"sample": torch.randn(2, 3, 32, 32)}
