"""bitsandbytes: a causal LM loaded in 4-bit NF4 with `BitsAndBytesConfig` (transformers' quantizer swaps every
Linear but the head for `bnb.nn.Linear4bit` while loading), on the CPU."""

import tempfile

import torch
from transformers import BitsAndBytesConfig, LlamaConfig, LlamaForCausalLM

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99,
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=64,
)
checkpoint = tempfile.mkdtemp(prefix="bnb_checkpoint_")
LlamaForCausalLM(config).save_pretrained(checkpoint)

bnb_config = BitsAndBytesConfig(
    load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float32
)
model = LlamaForCausalLM.from_pretrained(checkpoint, quantization_config=bnb_config, device_map="cpu")

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
