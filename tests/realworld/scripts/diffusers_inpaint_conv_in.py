"""diffusers: a text-to-image UNet widened for inpainting (9 input channels: latents, mask, masked latents), the
new `conv_in` keeping the old weights for the first 4 channels and the config updated with
`register_to_config`, as inpainting fine-tuning scripts do."""

import torch
from diffusers import UNet2DConditionModel
from torch import nn

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
old_conv = model.conv_in
new_conv = nn.Conv2d(
    9,
    old_conv.out_channels,
    kernel_size=old_conv.kernel_size,
    stride=old_conv.stride,
    padding=old_conv.padding,
)
with torch.no_grad():
    new_conv.weight.zero_()
    new_conv.weight[:, :4] = old_conv.weight
    new_conv.bias.copy_(old_conv.bias)
model.conv_in = new_conv
model.register_to_config(in_channels=9)

example_inputs = {
    "sample": torch.randn(1, 9, 16, 16),
    "timestep": torch.tensor([10]),
    "encoder_hidden_states": torch.randn(1, 7, 16),
}
