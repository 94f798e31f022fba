"""optimum-quanto through transformers: a causal LM loaded with `QuantoConfig(weights="int8")` (transformers'
quantizer swaps every Linear but the head for `QLinear` while loading), on the CPU."""

import tempfile

import torch
from transformers import LlamaConfig, LlamaForCausalLM, QuantoConfig

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
checkpoint = tempfile.mkdtemp(prefix="quanto_checkpoint_")
LlamaForCausalLM(config).save_pretrained(checkpoint)

model = LlamaForCausalLM.from_pretrained(
    checkpoint, quantization_config=QuantoConfig(weights="int8"), device_map="cpu"
)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
