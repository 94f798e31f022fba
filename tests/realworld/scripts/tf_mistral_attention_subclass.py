"""One Mistral attention (the last layer's) replaced by a subclass of the original with an extra learned
per-head temperature, keeping the pretrained projections."""

import torch
from torch import nn
from transformers import MistralConfig, MistralForCausalLM
from transformers.models.mistral.modeling_mistral import MistralAttention


class TemperedAttention(MistralAttention):
    """Mistral attention with a learned scale on its output."""

    def __init__(self, config: MistralConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        self.output_scale = nn.Parameter(torch.ones(config.hidden_size))

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs):
        output, weights = super().forward(hidden_states, *args, **kwargs)
        return output * self.output_scale, weights


torch.manual_seed(0)
config = MistralConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = MistralForCausalLM(config)

last = model.model.layers[-1]
tempered = TemperedAttention(config, layer_idx=len(model.model.layers) - 1)
tempered.load_state_dict(last.self_attn.state_dict(), strict=False)
last.self_attn = tempered
