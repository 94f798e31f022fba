"""A plain setting the script changes on a module it built and put in place is set again by the generated class.

The completeness check compares the model with its original class, which builds no such module; verification
compares it with the generated class, whose constructor call builds the module as it was before the change (a
PEFT LoRA layer before ``disable_adapter_layers()`` or ``merge_adapter()``). When settings are all that differs
there, the code is generated again with those settings set at the end of ``__init__``, and verified again.
"""

from __future__ import annotations

import pytest
import torch
from output_support import root_init_statements

from archit_codemod.declaration import api
from archit_codemod.declaration.api import generate, generate_verified, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.errors import DeclarationError, VerificationError
from archit_codemod.declaration.tracing.tracer import run_script

SCRIPT = """
import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.proj = nn.Linear(width, width)
        self.scale = 1.0
        self._disabled = False

    @property
    def disabled(self):
        return self._disabled

    def forward(self, x):
        return x if self._disabled else self.proj(x) * self.scale


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.gate = nn.Identity()

    def forward(self, x):
        return self.gate(self.fc(x))


model = Net(4)
gate = Gate(4)
model.gate = gate
gate.scale = 0.5
gate._disabled = True
"""


def test_settings_changed_after_building_a_new_module_are_set_again(scripts, mode):
    trace = run_script(scripts("gated.py", SCRIPT))
    roots = roots_to_declare(trace)
    first = generate(trace, roots, mode=mode)
    with pytest.raises(VerificationError) as failure:
        verify(first, trace, roots)
    assert {(d.path, d.name) for d in failure.value.differences} == {("gate", "scale"), ("gate", "_disabled")}

    output = generate_verified(trace, roots, mode=mode)
    assert root_init_statements(output)[-2:] == ["self.gate.scale = 0.5", "self.gate._disabled = True"]
    module_name, class_name = output.roots["model"]
    traced = roots["model"]
    with load_output(output) as package:
        built = build_root(package.module(module_name), class_name, traced, trace)
    built.load_state_dict(traced.state_dict(), strict=True)
    x = torch.randn(2, 4)
    assert torch.equal(built(x), traced(x)) and built.gate.disabled


def test_a_difference_besides_settings_is_still_a_verification_failure(scripts, monkeypatch):
    # The gate's constructor registers a hook that the script removes through its handle: no setting explains
    # that, so the code is not generated again, and the failure names the hook.
    script = SCRIPT.replace(
        "        self._disabled = False\n",
        "        self._disabled = False\n        self.handle = self.register_forward_hook(lambda m, i, o: o)\n",
    )
    trace = run_script(scripts("gated_hook.py", script + "gate.handle.remove()\n"))
    roots = roots_to_declare(trace)
    generated = []
    monkeypatch.setattr(
        api, "generate", lambda *args, **kwargs: generated.append(kwargs) or generate(*args, **kwargs)
    )

    with pytest.raises(VerificationError, match="gate: forward hook") as failure:
        generate_verified(trace, roots)
    assert any(d.kind == "hook" for d in failure.value.differences)
    assert [kwargs["settings_again"] for kwargs in generated] == [{}]  # not generated again


def test_hooks_a_constructor_registers_and_the_script_removed_are_refused_naming_the_modules(scripts):
    # optimum-quanto's Calibration removes output hooks its QLinear registered, through their handles.
    script = SCRIPT.replace(
        "        self._disabled = False\n",
        "        self._disabled = False\n        self.handle = self.register_forward_hook(self.quantize_output)\n\n"
        "    def quantize_output(self, module, inputs, output):\n        return output.round()\n",
    ).replace("gate.scale = 0.5\ngate._disabled = True\n", "")
    trace = run_script(scripts("gated_removed.py", script + "gate.handle.remove()\n"))
    roots = roots_to_declare(trace)
    with pytest.raises(DeclarationError) as refused:
        generate_verified(trace, roots)
    message = str(refused.value)
    assert message.startswith(
        "Cannot declare model.gate: the script removed hooks from these modules (forward hook "
    )
    assert "Gate.quantize_output) that their constructors register" in message
    assert (
        "Fix: build the model with the generated class, then run the code that removed the hooks" in message
    )
