"""A model that transformers' quantizer changed inside ``from_pretrained(..., quantization_config=...)``: what the
loading path does is the library's, and the original class's ``from_pretrained`` with the model's quantization config
does it again, so there is nothing to declare (issue 22, finding 13 of the round-4 probe: bitsandbytes' 4-bit loading;
optimum-quanto's ``QuantoConfig`` here, which runs on the CPU and prints nothing on import)."""

from __future__ import annotations

import pytest

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError
from archit_codemod.declaration.tracing.tracer import run_script

LOADED_IN_INT8 = """
from pathlib import Path

import torch
from torch import nn
from transformers import LlamaConfig, LlamaForCausalLM, QuantoConfig

torch.manual_seed(0)
config = LlamaConfig(
    vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
    num_key_value_heads=2, max_position_embeddings=64,
)
checkpoint = Path(__file__).parent / "checkpoint"
LlamaForCausalLM(config).save_pretrained(checkpoint)
model = LlamaForCausalLM.from_pretrained(checkpoint, quantization_config=QuantoConfig(weights="int8"))
"""


def test_a_model_quantized_by_from_pretrained_has_nothing_to_declare(scripts):
    trace = run_script(scripts("load_int8.py", LOADED_IN_INT8))
    model = trace.namespace["model"]
    assert type(model.model.layers[0].self_attn.q_proj).__name__ == "QLinear"
    roots = roots_to_declare(trace)
    with pytest.raises(NothingModifiedError) as nothing:
        generate(trace, roots)
    message = str(nothing.value)
    assert message.startswith("nothing to declare: from_pretrained changed model")
    assert "as the quantization_config its config keeps asks (transformers' quantizer)" in message
    assert message.endswith("no generated class is needed.")


def test_a_change_the_script_makes_after_a_quantized_load_is_refused_naming_it(scripts):
    # The quantizer's changes are the library's; the script's own change is still found, and a generated class,
    # built by its constructor (unquantized), cannot declare both.
    source = LOADED_IN_INT8 + "model.lm_head = nn.Linear(32, 99, bias=True)\n"
    trace = run_script(scripts("load_int8_new_head.py", source))
    roots = roots_to_declare(trace)
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots)
    message = str(refused.value)
    assert message.startswith(
        "model: from_pretrained quantized the model (the quantization_config its config keeps), and the script "
        "changed it further (lm_head)"
    )
    assert message.endswith(
        "then load the generated class with from_pretrained(..., quantization_config=...)."
    )
