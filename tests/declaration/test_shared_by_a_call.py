"""A library call that places one new module at several paths is made again after ``__init__``.

T5's ``set_input_embeddings`` gives one embedding to ``shared``, ``encoder.embed_tokens`` and
``decoder.embed_tokens``, and its classes tie only a ``weight`` there: a factorised embedding (two weights of
other names) cannot be declared as one module per path. The generated class calls ``set_input_embeddings`` again.
"""

from __future__ import annotations

import torch
from output_support import root_init_statements

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
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


config = T5Config(
    d_model=32, d_ff=37, d_kv=8, num_heads=4, num_layers=2, num_decoder_layers=2, vocab_size=99,
    tie_word_embeddings=False,
)
model = T5ForConditionalGeneration(config)
model.set_input_embeddings(FactorisedEmbedding(99, 32))
"""


def test_a_module_a_call_shares_between_owners_is_shared_by_the_same_call(scripts, mode):
    script = scripts("t5_factorised.py", SCRIPT)
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)

    assert root_init_statements(output)[-1] == "self.set_input_embeddings(FactorisedEmbedding(99, 32))"
    module_name, class_name = output.roots["model"]

    traced = roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    assert built.shared is built.encoder.embed_tokens is built.decoder.embed_tokens
    assert type(built.shared).__name__ == "FactorisedEmbedding"
    built.load_state_dict(traced.state_dict(), strict=True)
    inputs = {"input_ids": torch.tensor([[3, 4, 5]]), "decoder_input_ids": torch.tensor([[0, 6]])}
    with torch.no_grad():
        assert torch.equal(built.eval()(**inputs).logits, traced.eval()(**inputs).logits)
