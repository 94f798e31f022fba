"""Tensors a model's class tied to a module the script replaced stay tied to each other, as traced.

T5 ties ``encoder.embed_tokens.weight``, ``decoder.embed_tokens.weight`` and ``lm_head.weight`` to
``shared.weight``. A script that replaces ``shared`` alone leaves the other three holding the one tensor they were
tied to: the generated class ties them to the first of them, instead of dropping every tie with ``shared``
(which left them three separate tensors; T5Gemma2's ``lm_head`` and decoder embeddings failed so).
"""

from __future__ import annotations

import pytest
import torch
import transformers
from packaging.version import Version

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.errors import VerificationError
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
from torch import nn
from transformers import T5Config, T5ForConditionalGeneration


class FactorisedEmbedding(nn.Module):
    def __init__(self, num_embeddings, embedding_dim, bottleneck_size=8):
        super().__init__()
        self.lookup = nn.Embedding(num_embeddings, bottleneck_size)
        self.up_projection = nn.Linear(bottleneck_size, embedding_dim, bias=False)

    def forward(self, input_ids):
        return self.up_projection(self.lookup(input_ids))


config = T5Config(d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=2, num_decoder_layers=2, vocab_size=99)
model = T5ForConditionalGeneration(config)
model.shared = FactorisedEmbedding(99, 32)
"""


def test_tensors_tied_to_a_replaced_module_stay_tied_to_each_other(scripts, mode):
    trace = run_script(scripts("t5_shared_replaced.py", SCRIPT))
    roots = roots_to_declare(trace)
    traced = roots["model"]
    assert traced.encoder.embed_tokens.weight is traced.decoder.embed_tokens.weight is traced.lm_head.weight
    output = generate(trace, roots, mode=mode)
    if Version(transformers.__version__) < Version("5"):
        # transformers 4.57's T5 ties by reading shared.weight in post_init: no class with this shared builds.
        with pytest.raises(VerificationError, match="'FactorisedEmbedding' object has no attribute 'weight'"):
            verify(output, trace, roots)
        return
    verify(output, trace, roots)

    module_name, class_name = output.roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    assert built.encoder.embed_tokens.weight is built.decoder.embed_tokens.weight is built.lm_head.weight
    assert type(built.shared).__name__ == "FactorisedEmbedding"
    assert type(built)._tied_weights_keys == {  # target -> source, each naming the first of the group
        "decoder.embed_tokens.weight": "encoder.embed_tokens.weight",
        "lm_head.weight": "encoder.embed_tokens.weight",
    }
    built.load_state_dict(traced.state_dict(), strict=True)
    inputs = {"input_ids": torch.tensor([[3, 4, 5]]), "decoder_input_ids": torch.tensor([[0, 6]])}
    with torch.no_grad():
        assert torch.equal(built.eval()(**inputs).logits, traced.eval()(**inputs).logits)
