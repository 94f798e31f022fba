"""Task classes that inherit their ``__init__`` from transformers' generic ones, in both modes.

``class LlamaForSequenceClassification(GenericForSequenceClassification, LlamaPreTrainedModel): ...`` has a one-line
body and no ``__init__`` of its own: the generated class copies ``GenericForSequenceClassification.__init__``, which
builds the base model with ``AutoModel``, a name that ``modeling_llama.py`` does not bind.
"""

from __future__ import annotations

import ast

import torch

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
from torch import nn
from transformers import LlamaConfig, LlamaForSequenceClassification


class MLPHead(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.up = nn.Linear(in_features, in_features)
        self.down = nn.Linear(in_features, out_features)

    def forward(self, hidden_states):
        return self.down(self.up(hidden_states))


config = LlamaConfig(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=37,
    vocab_size=99, pad_token_id=0,
)
model = LlamaForSequenceClassification(config)
model.score = MLPHead(32, 2)
"""


def test_a_generic_task_class_with_a_one_line_body_is_declared(scripts, mode):
    script = scripts("generic_head.py", SCRIPT)
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode=mode)
    verify(output, trace, roots)

    module_name, class_name = output.roots["model"]
    text = next(file.text for file in output.files if file.name == f"{module_name}.py")
    tree = ast.parse(text)
    [class_def] = [node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    [init] = [
        node for node in class_def.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    ]
    assert "AutoModel.from_config(config)" in ast.unparse(init)
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert "AutoModel" in imported
    assert not any(isinstance(statement, ast.Expr) for statement in class_def.body[1:])  # no stray `...`

    traced = roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    built.load_state_dict(traced.state_dict(), strict=True)
    input_ids = torch.tensor([[3, 4, 5, 6]])
    with torch.no_grad():
        assert torch.equal(built.eval()(input_ids).logits, traced.eval()(input_ids).logits)
