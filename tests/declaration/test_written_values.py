"""Values the script produced that have no structural form are written as the script's own expression for them.

A lambda (``check_fn=lambda m: isinstance(m, BertLayer)``), an object whose constructor derives its state (a steering
controller drawing its direction from a seed), a QConfig from ``get_default_qat_qconfig("fbgemm")``, a hook bound to
an object of a script class: before, each was refused as "no source form". Now the generated code makes it again with
the expression the script wrote, each name it reads rendered as what it holds (the model's config as ``config``, a
module of the model as ``self.<path>``, a literal as the literal); a name whose value there is unknown (a function's
local variable, a loop variable) is refused, naming it and the line.
"""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_BERT
from output_support import declared, file_of, rebuilt_root

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.tracer import run_script

CHECKPOINTING = f"""
import functools

import torch
from torch.distributed.algorithms._checkpoint.checkpoint_wrapper import (
    CheckpointImpl,
    CheckpointWrapper,
    apply_activation_checkpointing,
    checkpoint_wrapper,
)
from transformers import BertConfig, BertModel
from transformers.models.bert.modeling_bert import BertLayer

config = {TINY_BERT}
model = BertModel(config).eval()
apply_activation_checkpointing(
    model,
    checkpoint_wrapper_fn=functools.partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT),
    check_fn=lambda module: isinstance(module, BertLayer),
)
"""


def _root_code(output) -> str:
    return file_of(output, output.roots["model"][1]).text


def test_a_lambda_and_a_partial_given_to_a_replayed_call_are_written_as_the_script_wrote_them(scripts, mode):
    # torch.distributed's apply_activation_checkpointing, as FSDP training scripts call it.
    trace, roots, output = declared(scripts("checkpointing.py", CHECKPOINTING), mode)

    code = _root_code(output)
    assert "check_fn=lambda module: isinstance(module, BertLayer)" in code
    assert (
        "checkpoint_wrapper_fn=functools.partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT)"
        in code
    )
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        layers = rebuilt.encoder.layer
        assert [type(layer).__name__ for layer in layers] == ["CheckpointWrapper", "CheckpointWrapper"]
        assert all(type(layer._checkpoint_wrapped_module).__name__ == "BertLayer" for layer in layers)


def test_a_lambda_in_a_function_reads_its_closure_the_model_as_self_and_a_local_as_its_value(scripts):
    # The lambda reads `model` and `skipped`, variables of the function that wrote it: their values are in its closure.
    source = CHECKPOINTING.replace(
        "model = BertModel(config).eval()\napply_activation_checkpointing(",
        "\n\ndef checkpointed():\n    model = BertModel(config).eval()\n    skipped = 1\n"
        "    apply_activation_checkpointing(",
    ).replace(
        "    check_fn=lambda module: isinstance(module, BertLayer),\n)\n",
        "    check_fn=lambda module: isinstance(module, BertLayer) and module is not model.encoder.layer[skipped],\n"
        "    )\n    return model\n\n\nmodel = checkpointed()\n",
    )
    trace, roots, output = declared(scripts("checkpointed_in_a_function.py", source), "subclass")

    assert (
        "lambda module: isinstance(module, BertLayer) and module is not self.encoder.layer[1]"
        in _root_code(output)
    )
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert [type(layer).__name__ for layer in rebuilt.encoder.layer] == ["CheckpointWrapper", "BertLayer"]


def test_of_two_lambdas_on_one_line_the_one_that_was_passed_is_written(scripts):
    # Found by its code object: the line, then the columns of its body.
    source = CHECKPOINTING.replace(
        "    check_fn=lambda module: isinstance(module, BertLayer),\n",
        "    check_fn=checks[1],\n",
    ).replace(
        "model = BertModel(config).eval()\n",
        "model = BertModel(config).eval()\nchecks = (lambda module: False, lambda layer: isinstance(layer, BertLayer))\n",
    )
    trace, roots, output = declared(scripts("two_lambdas.py", source), "subclass")

    code = _root_code(output)
    assert "check_fn=lambda layer: isinstance(layer, BertLayer)" in code
    assert "lambda module: False" not in code


STEERED = f"""
import torch
from transformers import BertConfig, BertModel


class SteeringController:
    # Its constructor draws the direction: no call of its class can be read back from what it holds.
    def __init__(self, dim: int, alpha: float, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        direction = torch.randn(dim, generator=generator)
        self.direction = direction / direction.norm()
        self.alpha = alpha


def steer(module, inputs, output):
    return output + module.controller.alpha * module.controller.direction


config = {TINY_BERT}
model = BertModel(config).eval()
dense = model.encoder.layer[1].output.dense
dense.controller = SteeringController(config.hidden_size, alpha=4.0, seed=7)
dense.register_forward_hook(steer)
"""


def test_an_object_whose_constructor_derives_its_state_is_built_by_the_scripts_call(scripts, mode):
    trace, roots, output = declared(scripts("steered.py", STEERED), mode)

    code = _root_code(output)
    assert (
        "        with torch.device('cpu'):\n"
        "            self.encoder.layer[1].output.dense.controller = SteeringController(config.hidden_size, alpha=4.0, "
        "seed=7)\n"
    ) in code
    traced = roots["model"]
    with rebuilt_root(output, trace, traced) as rebuilt:
        controller = rebuilt.encoder.layer[1].output.dense.controller
        assert torch.equal(controller.direction, traced.encoder.layer[1].output.dense.controller.direction)
        rebuilt.load_state_dict(traced.state_dict())
        rebuilt.eval()
        input_ids = torch.tensor([[1, 5, 7, 9]])
        with torch.no_grad():
            assert torch.equal(rebuilt(input_ids).last_hidden_state, traced(input_ids).last_hidden_state)


def test_an_object_holding_tensors_of_its_own_is_built_on_their_device_when_the_model_is_built_on_meta(
    scripts,
):
    # from_pretrained builds the model on meta; the direction belongs to no module, so no checkpoint gives it values.
    trace, roots, output = declared(scripts("steered_meta.py", STEERED), "subclass")
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        generated = type(rebuilt)
        with torch.device("meta"):
            on_meta = generated(roots["model"].config)
    controller = on_meta.encoder.layer[1].output.dense.controller
    assert controller.direction.device == torch.device("cpu")
    assert torch.equal(
        controller.direction, roots["model"].encoder.layer[1].output.dense.controller.direction
    )


NETHOOK = f"""
import torch
from transformers import BertConfig, BertModel


class Trace:
    # As baukit's nethook.Trace: its constructor registers its own bound method as a forward hook.
    def __init__(self, module, retain_output=True, edit_output=None):
        self.module = module
        self.retain_output = retain_output
        self.edit_output = edit_output
        self.output = None
        self.handle = module.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        if self.edit_output is not None:
            output = self.edit_output(output)
        if self.retain_output:
            self.output = output.detach()
        return output


def ablate_first_units(output):
    output = output.clone()
    output[..., :8] = 0
    return output


config = {TINY_BERT}
model = BertModel(config).eval()
trace = Trace(model.encoder.layer[0].output.dense, edit_output=ablate_first_units)
"""


def test_a_hook_registered_by_the_constructor_of_a_script_object_is_declared_by_that_construction(
    scripts, mode
):
    trace, roots, output = declared(scripts("nethook.py", NETHOOK), mode)

    assert "Trace(self.encoder.layer[0].output.dense, edit_output=ablate_first_units)" in _root_code(output)
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        hooks = list(rebuilt.encoder.layer[0].output.dense._forward_hooks.values())
        assert [hook.__func__.__name__ for hook in hooks] == ["hook"]  # made once, by the construction alone
        assert hooks[0].__self__.edit_output.__name__ == "ablate_first_units"


def test_the_tracer_records_a_script_objects_construction_as_what_registered_its_hook(scripts):
    trace = run_script(scripts("nethook_trace.py", NETHOOK))
    [effect] = [effect for effect in trace.effects if effect.kind == "forward_hook"]
    assert effect.call.function is trace.namespace["Trace"]
    assert effect.call.receiver is None
    assert effect.call.arguments["module"] is trace.namespace["model"].encoder.layer[0].output.dense
    assert effect.call.arguments["edit_output"] is trace.namespace["ablate_first_units"]
    assert (
        effect.call.lineno
        == NETHOOK.lstrip("\n")
        .splitlines()
        .index("trace = Trace(model.encoder.layer[0].output.dense, edit_output=ablate_first_units)")
        + 1
    )


BOUND_HOOK = f"""
import torch
from transformers import BertConfig, BertModel


class Steerer:
    def __init__(self, dim, alpha, seed=0):
        self.direction = torch.randn(dim, generator=torch.Generator().manual_seed(seed))
        self.alpha = alpha

    def hook(self, module, inputs, output):
        return output + self.alpha * self.direction


config = {TINY_BERT}
model = BertModel(config).eval()
steerer = Steerer(config.hidden_size, alpha=2.0, seed=3)
model.encoder.layer[1].output.dense.register_forward_hook(steerer.hook)
"""


def test_a_hook_bound_to_an_object_the_script_built_is_that_objects_expression_and_the_method(scripts, mode):
    trace, roots, output = declared(scripts("bound_hook.py", BOUND_HOOK), mode)

    assert (
        "self.encoder.layer[1].output.dense.register_forward_hook(\n"
        "                Steerer(config.hidden_size, alpha=2.0, seed=3).hook\n"
    ) in _root_code(output)


QAT_HEAD = """
import torch
from transformers import BertConfig, BertForSequenceClassification

config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, num_labels=3
)
model = BertForSequenceClassification(config).train()
model.classifier = torch.ao.nn.qat.Linear(
    config.hidden_size, config.num_labels, qconfig=torch.ao.quantization.get_default_qat_qconfig("fbgemm")
)
"""


def test_a_qconfig_argument_is_the_scripts_call_that_made_it(scripts, mode):
    trace, roots, output = declared(scripts("qat_head.py", QAT_HEAD), mode)

    code = "".join(file.text for file in output.files)
    assert 'qconfig=torch.ao.quantization.get_default_qat_qconfig("fbgemm")' in code
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert type(rebuilt.classifier.weight_fake_quant).__name__ == "FusedMovingAvgObsFakeQuantize"


def test_a_partial_held_by_a_script_global_is_written_as_a_call_of_functools_partial(scripts):
    source = CHECKPOINTING.replace(
        "model = BertModel(config).eval()\n",
        "model = BertModel(config).eval()\n"
        "wrapper = functools.partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT)\n",
    ).replace(
        "checkpoint_wrapper_fn=functools.partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT)",
        "checkpoint_wrapper_fn=wrapper",
    )
    trace, roots, output = declared(scripts("partial_global.py", source), "subclass")
    assert (
        "checkpoint_wrapper_fn=functools.partial(checkpoint_wrapper, checkpoint_impl=CheckpointImpl.NO_REENTRANT)"
        in _root_code(output)
    )


def _refusal(scripts, name: str, source: str) -> str:
    trace = run_script(scripts(name, source))
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots_to_declare(trace))
    return str(refused.value)


def test_an_expression_that_reads_a_loop_variable_is_refused_naming_the_attribute_the_line_and_the_name(
    scripts,
):
    source = STEERED.replace(
        "dense = model.encoder.layer[1].output.dense\n"
        "dense.controller = SteeringController(config.hidden_size, alpha=4.0, seed=7)\n"
        "dense.register_forward_hook(steer)\n",
        "for index, layer in enumerate(model.encoder.layer):\n"
        "    layer.output.dense.controller = SteeringController(config.hidden_size, alpha=4.0, seed=index)\n",
    )
    message = _refusal(scripts, "steered_in_a_loop.py", source)
    line = (
        source.lstrip("\n")
        .splitlines()
        .index(
            "    layer.output.dense.controller = SteeringController(config.hidden_size, alpha=4.0, seed=index)"
        )
    )
    assert (
        "Cannot declare encoder.layer.0.output.dense (in BertModel): attribute 'controller' is a" in message
    )
    assert (
        f"steered_in_a_loop.py:{line + 1} (`SteeringController(config.hidden_size, alpha=4.0, seed=index)`)"
        in message
    )
    assert "reads index, a global the script binds more than once or in a loop" in message
    assert "Fix:" in message


def test_an_expression_that_reads_a_local_variable_of_a_function_is_refused_naming_it(scripts):
    source = STEERED.replace(
        "dense = model.encoder.layer[1].output.dense\n"
        "dense.controller = SteeringController(config.hidden_size, alpha=4.0, seed=7)\n",
        "\n\ndef steered(model, seed):\n"
        "    model.encoder.layer[1].output.dense.controller = SteeringController(config.hidden_size, 4.0, seed)\n"
        "\n\nsteered(model, 7)\ndense = model.encoder.layer[1].output.dense\n",
    )
    message = _refusal(scripts, "steered_in_a_function.py", source)
    assert "attribute 'controller'" in message
    assert (
        "reads seed, a local variable of a function, whose value there the codemod does not know" in message
    )


def test_an_expression_that_reads_the_models_weights_is_refused(scripts):
    # The generated class runs before any weights are loaded: the traced values are not there to read.
    source = STEERED.replace(
        "SteeringController(config.hidden_size, alpha=4.0, seed=7)",
        "SteeringController(config.hidden_size, alpha=float(model.pooler.dense.weight[0, 0]), seed=7)",
    )
    message = _refusal(scripts, "steered_from_weights.py", source)
    assert "attribute 'controller'" in message
    assert "reads model, a module of the model whose tensors it reads" in message


CLOSURE = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.proj(x))


class Scaled(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def scaled(k):
    def apply(x):
        return x * k

    return apply


model = Net()
model.act = Scaled(scaled(3.0))
"""


def test_a_closure_a_script_function_returned_is_that_call(scripts, mode):
    # A module's constructor argument, found at the line the tracer recorded for the constructor call.
    trace, roots, output = declared(scripts("closure.py", CLOSURE), mode)

    assert "self.act = Scaled(scaled(3.0))" in "".join(file.text for file in output.files)
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert rebuilt.act.fn(torch.tensor(2.0)) == 6.0
