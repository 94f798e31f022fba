"""A Qwen2-MoE causal LM whose first layer's shared expert is replaced by a wider MLP of the same class."""

import torch
from transformers import Qwen2MoeConfig, Qwen2MoeForCausalLM
from transformers.models.qwen2_moe.modeling_qwen2_moe import Qwen2MoeMLP

torch.manual_seed(0)
config = Qwen2MoeConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    moe_intermediate_size=16,
    shared_expert_intermediate_size=24,
    num_experts=4,
    num_experts_per_tok=2,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
model = Qwen2MoeForCausalLM(config)
model.model.layers[0].mlp.shared_expert = Qwen2MoeMLP(config, intermediate_size=48)
