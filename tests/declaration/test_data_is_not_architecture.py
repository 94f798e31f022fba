"""Values are not architecture: a buffer the script registered with computed values is declared by a placeholder
of its shape and dtype (the checkpoint holds its values), never by the values themselves."""

from __future__ import annotations

import pytest
import torch
from output_support import declared, output_text, rebuilt_root

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)

    def forward(self, x):
        return self.body(x) + self.body.steering


def steer(x):
    return x


torch.manual_seed(0)
model = Net()
direction = torch.randn(64, 4).mean(0)
model.body.register_buffer("steering", direction / direction.norm(){persistent})
model(torch.ones(2, 4))
"""


def test_a_buffer_registered_with_computed_values_is_declared_by_a_placeholder(scripts, mode):
    script = scripts("steering.py", SCRIPT.format(persistent=""))
    trace, roots, output = declared(script, mode)

    text = output_text(output)
    assert 'self.body.register_buffer("steering", torch.empty(4, dtype=torch.float32))' in text
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        rebuilt.load_state_dict(traced.state_dict(), strict=True)  # the values come from the checkpoint
        x = torch.ones(2, 4)
        assert torch.equal(rebuilt(x), traced(x))


def test_a_large_computed_buffer_no_checkpoint_holds_is_refused_naming_it(scripts):
    # Not saved in the state_dict: no checkpoint would hold its values, too many to write as a literal, and the
    # class cannot compute them.
    source = SCRIPT.format(persistent=", persistent=False").replace("+ self.body.steering", "")
    source = source.replace("torch.randn(64, 4).mean(0)", "torch.randn(64, 4096).mean(0)")
    trace = run_script(scripts("unsaved.py", source))
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots_to_declare(trace))
    message = str(refused.value)
    assert "register_buffer" in message and "'tensor' is a torch.Tensor" in message and "Fix:" in message
