"""A tie pattern kept in a generated ``_tied_weights_keys`` still ties what it tied.

I-BERT's masked-LM head ties ``{"lm_head.decoder.weight": "ibert.embeddings.word_embeddings.weight$", ...}`` on
transformers 5. transformers reads a mapping whose entries all look like tensor names literally (its check passes
the ``$``) and expands patterns only otherwise. A new decoder without a bias drops the ``lm_head.decoder.bias``
entry; left alone, the pattern entry would then be read as the name ``...weight$``, which no tensor has, and the
generated class would fail in ``post_init``. It is written out as the names it ties instead.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from output_support import class_code, declared, rebuilt_root
from packaging.version import Version

pytestmark = pytest.mark.skipif(
    Version(transformers.__version__) < Version("5"),
    reason="transformers 4.57 ties I-BERT's head by a list of names, and its IBertLMHead._tie_weights reads "
    "decoder.bias, which a decoder without a bias does not have",
)

SCRIPT = """
from torch import nn
from transformers import IBertConfig, IBertForMaskedLM

config = IBertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
    tie_word_embeddings=True,
)
model = IBertForMaskedLM(config)
decoder = nn.Linear(32, 99, bias=False)
decoder.weight = model.ibert.embeddings.word_embeddings.weight
model.lm_head.decoder = decoder
"""


def test_a_pattern_left_alone_in_the_mapping_is_written_out_as_the_names_it_ties(scripts, mode):
    script = scripts("ibert_decoder.py", SCRIPT)
    trace, roots, output = declared(script, mode)

    code = class_code(output, output.roots["model"][1])
    assert (
        '_tied_weights_keys = {"lm_head.decoder.weight": "ibert.embeddings.word_embeddings.weight"}' in code
    )
    assert "# lm_head.decoder.bias: no longer tied" in code
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as built:
        assert built.lm_head.decoder.weight is built.ibert.embeddings.word_embeddings.weight
        assert built.lm_head.decoder.bias is None
        built.load_state_dict(traced.state_dict(), strict=True)
        input_ids = torch.tensor([[3, 4, 5, 6]])
        with torch.no_grad():
            assert torch.equal(built.eval()(input_ids).logits, traced.eval()(input_ids).logits)
