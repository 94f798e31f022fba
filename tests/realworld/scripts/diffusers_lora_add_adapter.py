"""diffusers: LoRA on a UNet's attention projections with `add_adapter(LoraConfig(...))`, as diffusers'
text-to-image LoRA training script does."""

import torch
from diffusers import UNet2DConditionModel
from peft import LoraConfig

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
model.requires_grad_(False)
unet_lora_config = LoraConfig(
    r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_k", "to_q", "to_v", "to_out.0"]
)
model.add_adapter(unet_lora_config)

example_inputs = {
    "sample": torch.randn(1, 4, 16, 16),
    "timestep": torch.tensor([10]),
    "encoder_hidden_states": torch.randn(1, 7, 16),
}
