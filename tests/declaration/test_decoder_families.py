"""LoRA inside the attention of the most used decoder families, on ``meta``, in both modes.

The change people make most, on the architectures they make it on. A transformers release that changes how these
attention classes are written or decorated (5.25 put the ``kernels`` package's ``use_kernelized_func`` on all of
them) shows here first. Each cell is the zoo's ``lora`` script (``benchmarks/zoo/lora_query.py``), run as the
architecture sweep runs it: it must pass (the output verifies, and an independent rebuild agrees with the traced
model) in each mode.
"""

from __future__ import annotations

import sys

import pytest

from tests.declaration.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import zoo_cells  # noqa: E402

TINY = (
    "hidden_size=32",
    "intermediate_size=37",
    "num_hidden_layers=2",
    "num_attention_heads=4",
    "num_key_value_heads=2",
    "head_dim=8",
    "vocab_size=99",
    "pad_token_id=0",  # Phi-3's default padding index lies beyond a vocabulary of 99
)
FAMILIES = {
    "llama": "LlamaForCausalLM",
    "mistral": "MistralForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
    "gemma": "GemmaForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
    "gemma3_text": "Gemma3ForCausalLM",
    "phi3": "Phi3ForCausalLM",
    "granite": "GraniteForCausalLM",
    "olmo2": "Olmo2ForCausalLM",
}


@pytest.mark.parametrize(("model_type", "class_name"), FAMILIES.items(), ids=list(FAMILIES))
def test_lora_inside_the_attention_of_a_decoder_family(model_type: str, class_name: str) -> None:
    cells = zoo_cells.run_kind([model_type], class_name, "lora", settings=TINY)

    assert [(cell["mode"], cell["result"]) for cell in cells] == [
        (mode, "pass") for mode in zoo_cells.MODES
    ], [(cell["mode"], cell["stage"], cell["reason"]) for cell in cells]
