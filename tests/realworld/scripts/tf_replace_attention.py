"""Every Llama attention replaced by a gated subclass defined here, keeping the pretrained projections."""

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import LlamaAttention


class GatedAttention(LlamaAttention):
    """Llama attention whose output is scaled by a learned sigmoid gate computed from its input."""

    def __init__(self, config: LlamaConfig, layer_idx: int):
        super().__init__(config, layer_idx)
        self.gate = nn.Linear(config.hidden_size, config.hidden_size, bias=False)

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs):
        output, weights = super().forward(hidden_states, *args, **kwargs)
        return output * torch.sigmoid(self.gate(hidden_states)), weights


torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = LlamaForCausalLM(config)

for index, layer in enumerate(model.model.layers):
    gated = GatedAttention(config, layer_idx=index)
    gated.load_state_dict(layer.self_attn.state_dict(), strict=False)
    layer.self_attn = gated
