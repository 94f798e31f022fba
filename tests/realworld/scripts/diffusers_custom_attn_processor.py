"""diffusers: every attention of a UNet gets an attention processor written by the user (`set_attn_processor`),
here one that sharpens the attention with a temperature, as attention-control research code does."""

import torch
from diffusers import UNet2DConditionModel
from torch.nn import functional


class TemperatureAttnProcessor:
    """Scaled dot-product attention with the logits divided by a temperature."""

    def __init__(self, temperature: float = 0.5):
        self.temperature = temperature

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None):
        batch_size = hidden_states.shape[0]
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        query = attn.to_q(hidden_states)
        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)
        head_dim = query.shape[-1] // attn.heads
        query, key, value = (
            t.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2) for t in (query, key, value)
        )
        scale = attn.scale / self.temperature
        hidden_states = functional.scaled_dot_product_attention(query, key, value, scale=scale)
        hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
        hidden_states = attn.to_out[0](hidden_states)
        return attn.to_out[1](hidden_states)


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
model.set_attn_processor(TemperatureAttnProcessor(temperature=0.5))

example_inputs = {
    "sample": torch.randn(1, 4, 16, 16),
    "timestep": torch.tensor([10]),
    "encoder_hidden_states": torch.randn(1, 7, 16),
}
