"""Attention-sink research code (StreamingLLM-style): the last Llama layer's attention forward replaced on that
instance with `types.MethodType` by a function that keeps the first token and a window of recent tokens."""

import types

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama.modeling_llama import apply_rotary_pos_emb, repeat_kv


def sink_window_attention_forward(self, hidden_states, position_embeddings, attention_mask=None, **kwargs):
    batch_size, length, _ = hidden_states.shape
    shape = (batch_size, length, -1, self.head_dim)
    query = self.q_proj(hidden_states).view(shape).transpose(1, 2)
    key = self.k_proj(hidden_states).view(shape).transpose(1, 2)
    value = self.v_proj(hidden_states).view(shape).transpose(1, 2)
    cos, sin = position_embeddings
    query, key = apply_rotary_pos_emb(query, key, cos, sin)
    key = repeat_kv(key, self.num_key_value_groups)
    value = repeat_kv(value, self.num_key_value_groups)
    scores = query @ key.transpose(2, 3) * self.scaling
    rows = torch.arange(length)[:, None]
    cols = torch.arange(length)[None, :]
    visible = (cols <= rows) & ((rows - cols < self.window) | (cols < self.sink_tokens))
    scores = scores.masked_fill(~visible, torch.finfo(scores.dtype).min)
    weights = scores.softmax(dim=-1)
    output = (weights @ value).transpose(1, 2).reshape(batch_size, length, -1)
    return self.o_proj(output), weights


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
attention = model.model.layers[-1].self_attn
attention.window = 2
attention.sink_tokens = 1
attention.forward = types.MethodType(sink_window_attention_forward, attention)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2, 4, 8]])}
