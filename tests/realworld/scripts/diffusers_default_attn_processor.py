"""diffusers: a UNet switched to the classic attention processor (`set_attn_processor(AttnProcessor())`), as
diffusers' tests and reproducibility guides do; the same computation as the default processor."""

import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor

torch.manual_seed(0)
model = UNet2DConditionModel(
    block_out_channels=(8, 16),
    layers_per_block=1,
    sample_size=16,
    in_channels=4,
    out_channels=4,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=16,
    norm_num_groups=4,
    attention_head_dim=4,
)
model.set_attn_processor(AttnProcessor())

example_inputs = {
    "sample": torch.randn(1, 4, 16, 16),
    "timestep": torch.tensor([10]),
    "encoder_hidden_states": torch.randn(1, 7, 16),
}
