"""A composite model whose ``__init__`` imports inside its body: ``EncoderDecoderModel`` of two tiny BERTs.

``EncoderDecoderModel.__init__`` runs ``from ..auto.modeling_auto import AutoModel`` when it builds its parts, and
reads ``logger`` as ``modeling_bert.py`` does: the copied body must import from transformers, and the two files'
``logger = logging.get_logger(__name__)`` are one statement of the generated module.
"""

from __future__ import annotations

import ast

import torch
from output_support import output_text

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
from torch import nn
from transformers import BertConfig, EncoderDecoderConfig, EncoderDecoderModel

tiny = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)
config = EncoderDecoderConfig.from_encoder_decoder_configs(
    BertConfig(**tiny), BertConfig(**tiny, is_decoder=True, add_cross_attention=True)
)
config.decoder_start_token_id = 0
config.pad_token_id = 0
model = EncoderDecoderModel(config=config)
model.encoder.encoder.layer[0].attention.self.query = nn.Linear(32, 32, bias=False)
"""


def test_an_encoder_decoder_model_is_declared(scripts, mode):
    script = scripts("encoder_decoder.py", SCRIPT)
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)
    # AutoModel.from_config(config.encoder) built the encoder from the composite config's own sub-config: the
    # generated class builds it from that attribute, not from a literal copy of its values.
    assert "BertModelModified(config.encoder)" in output_text(output)
    assert "BertConfig(" not in output_text(output)

    module_name, class_name = output.roots["model"]
    text = next(file.text for file in output.files if file.name == f"{module_name}.py")
    tree = ast.parse(text)
    in_bodies = [
        node
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom)
    ]
    assert in_bodies
    # Relative imports become absolute; 4.57's from_pretrained also imports `from transformers import ...` itself.
    assert all(node.level == 0 and node.module.split(".")[0] == "transformers" for node in in_bodies)
    if mode == "subclass":
        loggers = [
            node
            for node in tree.body
            if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "logger"
        ]
        assert len(loggers) == 1

    traced = roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    assert built.encoder.encoder.layer[0].attention.self.query.bias is None
    built.load_state_dict(traced.state_dict(), strict=True)
    inputs = {"input_ids": torch.tensor([[3, 4, 5]]), "decoder_input_ids": torch.tensor([[0, 6]])}
    with torch.no_grad():
        assert torch.equal(built.eval()(**inputs).logits, traced.eval()(**inputs).logits)
