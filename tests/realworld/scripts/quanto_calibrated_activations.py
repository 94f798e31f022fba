"""optimum-quanto: int8 weights and activations for a Gemma causal LM, activation ranges calibrated on a few
batches under ``Calibration()``, then frozen."""

import torch
from optimum.quanto import Calibration, freeze, qint8, quantize
from transformers import GemmaConfig, GemmaForCausalLM

torch.manual_seed(0)
config = GemmaConfig(
    vocab_size=99,
    hidden_size=32,
    intermediate_size=37,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
    max_position_embeddings=64,
)
model = GemmaForCausalLM(config).eval()
quantize(model, weights=qint8, activations=qint8, exclude="lm_head")
with torch.no_grad(), Calibration():
    for _ in range(2):
        model(input_ids=torch.randint(0, 99, (2, 8)))
freeze(model)
