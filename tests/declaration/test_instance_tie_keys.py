"""A mapping of ties that ``__init__`` sets on the instance is overridden there too.

transformers 5's ``MarianMTModel.__init__`` sets ``self._tied_weights_keys = {"lm_head.weight": "model.shared.weight",
...}`` when the config shares its embeddings. A generated class that drops the ``lm_head`` tie (the head is now an
MLP) must say so in that statement: an override on the class alone is hidden by the instance's mapping, and
``post_init`` would give the MLP a ``weight`` tied to the embeddings.
"""

from __future__ import annotations

import torch
import transformers
from output_support import declared, init_code, rebuilt_root
from packaging.version import Version

SCRIPT = """
from torch import nn
from transformers import MarianConfig, MarianMTModel


class MLPHead(nn.Module):
    def __init__(self, width, vocab_size):
        super().__init__()
        self.hidden = nn.Linear(width, width)
        self.out = nn.Linear(width, vocab_size, bias=False)

    def forward(self, x):
        return self.out(self.hidden(x).relu())


config = MarianConfig(
    vocab_size=99, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
    decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=64,
    pad_token_id=0, decoder_start_token_id=0,
)
model = MarianMTModel(config)
model.lm_head = MLPHead(32, 99)
"""


def test_the_instance_mapping_set_in_init_drops_the_replaced_heads_tie(scripts, mode):
    script = scripts("marian_head.py", SCRIPT)
    trace, roots, output = declared(script, mode)

    module_name, class_name = output.roots["model"]
    if Version(transformers.__version__) >= Version("5"):
        init = init_code(output, class_name)
        assert "self._tied_weights_keys = {" in init and '"lm_head.weight"' not in init
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as built:
        assert not hasattr(built.lm_head, "weight")
        built.load_state_dict(traced.state_dict(), strict=True)
        inputs = {"input_ids": torch.tensor([[3, 4, 5]]), "decoder_input_ids": torch.tensor([[0, 6]])}
        with torch.no_grad():
            assert torch.equal(built.eval()(**inputs).logits, traced.eval()(**inputs).logits)
