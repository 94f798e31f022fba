"""The completeness check: what the tracer did not see is declared or refused, never passed over.

Each script changes a model with a real torch or transformers feature. The outcome is one of: declared and
rebuilt exactly (weights loaded strictly, same outputs), "nothing to declare" proven by rebuilding the original
class, or a refusal (exit 2) whose message names the module path, what differs and a fix that works.
"""

from __future__ import annotations

import pytest
import torch
import transformers
from output_support import output_text, root_init_statements
from packaging.version import Version
from torch import nn

from archit_codemod.cli import main
from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.errors import DeclarationError, NothingModifiedError
from archit_codemod.declaration.tracing.tracer import run_script

TRANSFORMERS_5 = Version(transformers.__version__) >= Version("5")

HEADER = """
import torch
from torch import nn
from transformers import BertConfig, BertForMaskedLM, BertModel, GPT2Config, GPT2LMHeadModel

config = BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99)
"""

NET = """
class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(width, 2 * width)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(2 * width, width)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))
"""

QUERY = "bert.encoder.layer.0.attention.self.query"
QUERY_OF_MODEL = f"model.get_submodule({QUERY!r})"


def traced(scripts, body: str, name: str = "modify.py"):
    script = scripts(name, HEADER + body)
    trace = run_script(script)
    return trace, roots_to_declare(trace)


def declared(scripts, body: str, inputs: dict, mode: str, root: str = "model"):
    """Trace, generate in ``mode``, verify, then rebuild the root with the traced weights and compare outputs
    exactly."""
    trace, roots = traced(scripts, body)
    generated = generate(trace, roots, mode=mode)
    verify(generated, trace, roots)
    with load_output(generated) as package:
        module, class_name = generated.roots[root]
        built = build_root(package.module(module), class_name, roots[root], trace)
    built.load_state_dict(roots[root].state_dict(), strict=True)
    built.eval(), roots[root].eval()
    with torch.no_grad():
        expected, got = roots[root](**inputs), built(**inputs)
    expected = expected if isinstance(expected, torch.Tensor) else expected[0]
    got = got if isinstance(got, torch.Tensor) else got[0]
    assert torch.equal(got, expected)
    return generated, built


def refusal(scripts, body: str) -> str:
    trace, roots = traced(scripts, body)
    with pytest.raises(DeclarationError) as refused:
        generate(trace, roots)
    return str(refused.value)


INPUT_IDS = {"input_ids": torch.tensor([[5, 6, 7, 8], [9, 10, 11, 12]])}


# --- declared: module-tree changes the tracer did not see -------------------------------------------------


def test_quantize_dynamic_in_place_is_declared_from_the_quantized_modules_constructor_calls(scripts, mode):
    # quantize_dynamic writes module._modules[name] directly: no assignment the tracer sees.
    body = "model = BertModel(config)\ntorch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8, inplace=True)\n"
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert "dtype=torch.qint8" in output_text(generated)
    assert "from torch.ao.nn.quantized.dynamic import Linear" in output_text(generated)
    assert type(built.encoder.layer[0].attention.self.query).__module__.startswith(
        "torch.ao.nn.quantized.dynamic"
    )


def test_save_pretrained_of_dynamically_quantized_weights_is_refused_naming_the_module(
    scripts, tmp_path, capsys
):
    # transformers' save_pretrained writes tensors only; the quantized Linear's state_dict also holds its dtype.
    body = "model = BertModel(config)\ntorch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.float16, inplace=True)\n"
    script = scripts("quantized.py", HEADER + body)
    folder = tmp_path / "vendored"
    code = main(["--mode", "vendor", "--save-pretrained", "-o", str(folder), str(script)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "--save-pretrained: model.encoder.layer.0.attention.self.query (a dtype at " in err
    assert "Fix: omit --save-pretrained" in err
    assert "internal error" not in err and not folder.exists()


def test_quantize_dynamic_returning_a_copy_declares_the_copy(scripts):
    body = (
        NET
        + "model = Net(8)\nquantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)\n"
    )
    # The copy has no constructor call of its own (copy.deepcopy): the codemod cannot rebuild it to compare.
    trace = run_script(scripts("copy.py", HEADER + body))
    with pytest.raises(DeclarationError) as refused:
        roots_to_declare(trace)
    message = str(refused.value)
    assert "cannot compare quantized (<root>, a Net) with its original class" in message
    assert "quantized: it was built without a recorded constructor call and has no config" in message
    assert "Fix: build the model with its constructor or from_pretrained in the script" in message


def test_a_module_written_into_modules_directly_is_declared(scripts, mode):
    body = NET + "model = Net(8)\nmodel._modules['act'] = nn.GELU(approximate='tanh')\n"
    generated, built = declared(scripts, body, {"x": torch.randn(2, 8)}, mode)
    assert 'self.act = nn.GELU(approximate="tanh")' in output_text(generated)
    assert isinstance(built.act, nn.GELU)


def test_a_module_changed_then_replaced_unseen_is_declared_not_nothing(scripts, mode):
    # The only recorded change is to a module that a direct write into _modules then replaced (as
    # torch.ao.quantization's prepare then convert do): the model still differs from its class.
    body = (
        NET
        + "model = Net(8)\nmodel.act.extra = nn.Identity()\nmodel._modules['act'] = nn.GELU(approximate='tanh')\n"
    )
    generated, built = declared(scripts, body, {"x": torch.randn(2, 8)}, mode)
    assert 'self.act = nn.GELU(approximate="tanh")' in output_text(generated)
    assert isinstance(built.act, nn.GELU) and not hasattr(built.act, "extra")


def test_a_module_changed_then_replaced_by_an_equal_one_is_still_nothing(scripts):
    body = NET + "model = Net(8)\nmodel.act.extra = nn.Identity()\nmodel._modules['act'] = nn.ReLU()\n"
    trace = run_script(scripts("modify.py", HEADER + body))
    with pytest.raises(NothingModifiedError, match="no longer part of any model"):
        roots_to_declare(trace)


# --- refused, with the path, what differs and a fix that works --------------------------------------------


def test_pruning_is_declared_by_pruning_again_in_the_generated_class(scripts, mode):
    body = f"from torch.nn.utils import prune\nmodel = BertForMaskedLM(config)\nprune.l1_unstructured({QUERY_OF_MODEL}, 'weight', amount=0.3)\n"
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert 'l1_unstructured(self.bert.encoder.layer[0].attention.self.query, "weight", 0.3)' in output_text(
        generated
    )
    pruned = built.get_submodule(QUERY)
    assert {name for name, _ in pruned.named_parameters()} == {"weight_orig", "bias"}
    assert (pruned.weight == 0).sum() == int(0.3 * 32 * 32 + 0.5)  # the traced mask, loaded


def test_pruning_made_permanent_as_the_refusal_advises_leaves_nothing_to_declare(scripts):
    body = (
        f"from torch.nn.utils import prune\nmodel = BertForMaskedLM(config)\n"
        f"prune.l1_unstructured({QUERY_OF_MODEL}, 'weight', amount=0.3)\nprune.remove({QUERY_OF_MODEL}, 'weight')\n"
    )
    trace = run_script(scripts("permanent.py", HEADER + body))
    with pytest.raises(NothingModifiedError) as nothing:
        roots_to_declare(trace)
    assert "the script modified no module" in str(nothing.value)
    assert "is what that class builds: model (BertForMaskedLM)." in str(nothing.value)
    # And indeed the original class loads the pruned weights.
    model = trace.namespace["model"]
    rebuilt = transformers.BertForMaskedLM(model.config)
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    assert (rebuilt.get_submodule(QUERY).weight == 0).sum() == int(0.3 * 32 * 32 + 0.5)


@pytest.mark.parametrize(
    ("apply", "parametrization"),
    [
        ("parametrizations.weight_norm(layer)", "torch.nn.utils.parametrizations._WeightNorm"),
        ("parametrizations.spectral_norm(layer)", "torch.nn.utils.parametrizations._SpectralNorm"),
        ("parametrize.register_parametrization(layer, 'weight', Doubled())", "__main__.Doubled"),
    ],
    ids=["weight_norm", "spectral_norm", "register_parametrization"],
)
def test_parametrizations_are_declared_by_the_call_that_made_them(scripts, mode, apply, parametrization):
    body = (
        "from torch.nn.utils import parametrizations, parametrize\n"
        "class Doubled(nn.Module):\n    def forward(self, weight):\n        return 2 * weight\n"
        f"model = BertForMaskedLM(config)\nlayer = model.bert.encoder.layer[1].output.dense\n{apply}\n"
    )
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    function = apply.split("(")[0].rpartition(".")[2]
    assert f"{function}(self.bert.encoder.layer[1].output.dense" in output_text(generated)
    chain = built.bert.encoder.layer[1].output.dense.parametrizations.weight
    assert [type(p).__qualname__ for p in chain] == [parametrization.rpartition(".")[2]]


def test_an_orthogonal_parametrization_made_again_is_refused_for_what_from_pretrained_builds(scripts, mode):
    # Made on meta, where from_pretrained builds the model, orthogonal() registers no `base` buffer: the checkpoint's
    # does not load, and the loaded model's forward fails. The constructor alone (on the CPU) rebuilds the model.
    body = (
        "from torch.nn.utils import parametrizations\nmodel = BertForMaskedLM(config)\n"
        "parametrizations.orthogonal(model.bert.encoder.layer[1].output.dense)\n"
    )
    trace, roots = traced(scripts, body)
    generated = generate(trace, roots, mode=mode)
    with pytest.raises(DeclarationError) as refused:
        verify(generated, trace, roots)
    message = str(refused.value)
    assert (
        "`orthogonal(...)` (on bert.encoder.layer.1.output.dense) builds other tensors on the meta device"
        in message
    )
    assert "(bert.encoder.layer.1.output.dense.parametrizations.weight.0.base)" in message
    assert message.endswith(
        "Fix: apply this change after loading the model, in your own code (the checkpoint does not hold it)."
    )


def test_old_style_weight_norm_is_declared_by_the_same_call(scripts, mode):
    body = (
        "model = BertForMaskedLM(config)\ntorch.nn.utils.weight_norm(model.cls.predictions.transform.dense)\n"
    )
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert "weight_norm(self.cls.predictions.transform.dense)" in output_text(generated)
    assert {"weight_g", "weight_v"} <= {
        name for name, _ in built.cls.predictions.transform.dense.named_parameters()
    }


LOUD_WITH_OWN_INIT = (
    "class Loud(nn.Linear):\n    def __init__(self, width):\n        super().__init__(width, width)\n"
)


def test_a_class_swap_to_a_class_with_its_own_constructor_is_refused_naming_the_path(scripts):
    body = (
        LOUD_WITH_OWN_INIT
        + "model = BertForMaskedLM(config)\nmodel.bert.encoder.layer[0].output.dense.__class__ = Loud\n"
    )
    message = refusal(scripts, body)
    assert "bert.encoder.layer.0.output.dense: traced Loud, original Linear" in message
    assert "__class__ swaps: build an instance of the new class and assign it" in message


def test_a_class_swap_to_a_subclass_without_a_constructor_is_declared_as_a_call_of_the_subclass(
    scripts, mode
):
    body = (
        "class Loud(nn.Linear):\n    def forward(self, x):\n        return 2 * super().forward(x)\n"
        "model = BertModel(config)\nmodel.encoder.layer[0].output.dense.__class__ = Loud\n"
    )
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert "Loud(config.intermediate_size, config.hidden_size)" in output_text(generated)
    assert type(built.encoder.layer[0].output.dense).__name__ == "Loud"
    assert type(built.encoder.layer[1].output.dense) is nn.Linear


def test_a_hook_registered_by_the_script_is_declared_with_its_function_copied(scripts, mode):
    body = "def clamp(module, inputs, output):\n    return output.clamp(-1, 1)\nmodel = BertModel(config)\nmodel.encoder.layer[1].output.dense.register_forward_hook(clamp)\n"
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert "self.encoder.layer[1].output.dense.register_forward_hook(clamp)" in output_text(generated)
    assert "def clamp(module, inputs, output):" in output_text(generated)
    assert [hook.__name__ for hook in built.encoder.layer[1].output.dense._forward_hooks.values()] == [
        "clamp"
    ]


@pytest.mark.parametrize(
    ("registration", "hooks"),
    [
        ("register_full_backward_hook", "_backward_hooks"),
        ("register_full_backward_pre_hook", "_backward_pre_hooks"),
    ],
)
def test_a_full_backward_hook_registered_by_the_script_is_declared(scripts, mode, registration, hooks):
    body = (
        "def clip(module, grads, *rest):\n    return tuple(g if g is None else g.clamp(-1, 1) for g in grads)\n"
        f"model = BertModel(config)\nmodel.encoder.layer[1].output.dense.{registration}(clip)\n"
    )
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert f"self.encoder.layer[1].output.dense.{registration}(clip)" in output_text(generated)
    dense = built.encoder.layer[1].output.dense
    assert [hook.__name__ for hook in getattr(dense, hooks).values()] == ["clip"]
    # torch tells a full backward hook from the deprecated register_backward_hook by this flag
    assert dense._is_full_backward_hook is (registration == "register_full_backward_hook" or None)


@pytest.mark.parametrize(
    ("prepare", "replayed"),
    [
        (
            "def clamp(module, inputs, output):\n    return output.clamp(-1, 1)\nhead.register_forward_hook(clamp)\n",
            "self.bert.encoder.layer[1].output.dense.register_forward_hook(clamp)",
        ),
        (
            "from torch.nn.utils import prune\nprune.l1_unstructured(head, 'weight', amount=0.5)\n",
            "l1_unstructured(self.bert.encoder.layer[1].output.dense, 'weight', 0.5)",
        ),
        (
            "from torch.nn.utils.parametrizations import weight_norm\nweight_norm(head)\n",
            "weight_norm(self.bert.encoder.layer[1].output.dense)",
        ),
    ],
    ids=["hook", "pruning", "weight_norm"],
)
def test_a_library_call_on_a_module_before_it_is_put_in_place_is_made_again(scripts, mode, prepare, replayed):
    body = (
        "model = BertForMaskedLM(config)\nhead = nn.Linear(37, 32, bias=False)\n"
        + prepare
        + "model.bert.encoder.layer[1].output.dense = head\n"
    )
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert "self.dense = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)" in output_text(
        generated
    )
    assert root_init_statements(generated)[-2:] == ["self.post_init()", replayed]


def test_changed_settings_are_set_again_after_init_beside_a_declared_change(scripts, mode):
    body = (
        "model = BertForMaskedLM(config)\nmodel.bert.encoder.layer[0].output.dropout = nn.Dropout(0.2)\n"
        "model.bert.encoder.layer[1].attention.self.attention_head_size = 4\n"
        "for module in model.bert.embeddings.modules():\n"
        "    if isinstance(module, nn.Dropout):\n"
        "        module.p = 0.0\n"
    )
    generated, built = declared(scripts, body, INPUT_IDS, mode)
    assert root_init_statements(generated)[-3:] == [
        "self.post_init()",
        "self.bert.embeddings.dropout.p = 0.0",
        "self.bert.encoder.layer[1].attention.self.attention_head_size = 4",
    ]
    assert built.bert.encoder.layer[1].attention.self.attention_head_size == 4
    assert built.bert.encoder.layer[0].attention.self.attention_head_size == 8
    assert built.bert.encoder.layer[0].output.dropout.p == 0.2  # the recorded replacement, not a setting


def test_a_new_module_moved_to_another_dtype_is_built_and_moved_again(scripts, mode):
    body = (
        "model = BertModel(config)\n"
        "model.pooler.dense = nn.Sequential(nn.Linear(32, 16), nn.Linear(16, 32)).to(torch.bfloat16)\n"
    )
    trace, roots = traced(scripts, body)
    generated = generate(trace, roots, mode=mode)
    verify(generated, trace, roots)
    code = "".join(output_text(generated).split())  # without layout
    # One cast, on the outer call: the inner calls are built inside it.
    expected = "self.dense=nn.Sequential(nn.Linear(config.hidden_size,16),nn.Linear(16,config.hidden_size)).to(torch.bfloat16)"
    assert expected in code
    assert code.count(".to(torch.bfloat16)") == 1


def test_a_model_wholly_in_another_dtype_gets_no_cast(scripts, mode):
    """Precision is a choice of loading (from_pretrained(dtype=...)): a new module in the model's own dtype is
    built as it was called."""
    body = (
        "model = BertModel(config).to(torch.bfloat16)\n"
        "model.pooler.dense = nn.Sequential(nn.Linear(32, 32))\n"
        "model.to(torch.bfloat16)\n"
    )
    trace, roots = traced(scripts, body)
    generated = generate(trace, roots)
    verify(generated, trace, roots)
    assert ".to(" not in output_text(generated)
    assert "self.dense = nn.Sequential(nn.Linear(config.hidden_size, config.hidden_size))" in output_text(
        generated
    )


def test_a_deleted_setting_is_refused_naming_the_path(scripts):
    body = "model = BertModel(config)\ndel model.encoder.layer[1].attention.self.attention_head_size\n"
    message = refusal(scripts, body)
    assert (
        "encoder.layer.1.attention.self: setting attention_head_size = 8 missing from the traced model"
        in message
    )


def test_the_command_line_exits_2_naming_the_path(scripts, capsys, tmp_path):
    script = scripts(
        "cli.py",
        HEADER
        + LOUD_WITH_OWN_INIT
        + "model = BertModel(config)\nmodel.encoder.layer[0].output.dense.__class__ = Loud\n",
    )
    output = tmp_path / "declared.py"
    assert main(["-o", str(output), str(script)]) == 2
    err = capsys.readouterr().err
    assert "encoder.layer.0.output.dense: traced Loud, original Linear" in err
    assert not output.exists()


# --- nothing to declare, proven ----------------------------------------------------------------------------


def test_resized_token_embeddings_are_nothing_to_declare(scripts):
    trace = run_script(
        scripts("resize.py", HEADER + "model = BertForMaskedLM(config)\nmodel.resize_token_embeddings(120)\n")
    )
    with pytest.raises(NothingModifiedError) as nothing:
        roots = roots_to_declare(trace)
        generate(trace, roots)
    message = str(nothing.value)
    assert message.startswith(("the script modified no module", "nothing to declare"))
    assert "model" in message
    # The proof, independently: the original class built from the updated config loads the weights.
    model = trace.namespace["model"]
    rebuilt = transformers.BertForMaskedLM(model.config)
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    assert rebuilt.bert.embeddings.word_embeddings.weight.shape == (120, 32)


FREQUENCIES = """
class Frequencies(nn.Module):
    def __init__(self, base):
        super().__init__()
        # Not saved in the state_dict: the class computes it (as rotary embeddings compute inv_freq).
        self.register_buffer("inverse", base ** -torch.arange(4.0), persistent=False)

    def forward(self, x):
        return x * self.inverse


class Positional(nn.Module):
    def __init__(self, base):
        super().__init__()
        self.frequencies = Frequencies(base)
        self.proj = nn.Linear(4, 4)

    def forward(self, x):
        return self.proj(self.frequencies(x))


model = Positional(10.0)
"""


def test_a_replacement_that_computes_unsaved_buffers_otherwise_is_declared_not_nothing(scripts, mode):
    # Same class, same shapes, nothing in the state_dict differs: only the unsaved buffer's values tell.
    body = FREQUENCIES + "model.frequencies = Frequencies(10000.0)\n"
    generated, built = declared(scripts, body, {"x": torch.ones(2, 4)}, mode)
    assert "Frequencies(10000.0)" in output_text(generated)
    assert torch.equal(built.frequencies.inverse, 10000.0 ** -torch.arange(4.0))


def test_a_replacement_that_computes_the_same_unsaved_buffers_is_nothing_to_declare(scripts):
    trace, roots = traced(scripts, FREQUENCIES + "model.frequencies = Frequencies(10.0)\n")
    with pytest.raises(
        NothingModifiedError, match="nothing to declare: the script changed model: frequencies"
    ):
        generate(trace, roots)


def test_a_resize_the_config_does_not_follow_is_declared_from_the_embedding_not_passed_over(scripts, mode):
    # The embedding was resized in place and the config put back: the original class, built from the config, builds
    # 99 rows. The embedding's class builds it as it is from its attributes: declared with 120 rows, not dropped.
    body = "model = BertModel(config)\nmodel.resize_token_embeddings(120)\nmodel.config.vocab_size = 99\n"
    generated, _ = declared(scripts, body, INPUT_IDS, mode)
    assert "self.word_embeddings = nn.Embedding(120, config.hidden_size, padding_idx=" in output_text(
        generated
    )


def test_an_identical_replacement_is_nothing_to_declare_while_a_different_one_is_declared(scripts, mode):
    same = "model = BertModel(config)\nmodel.encoder.layer[0].output.dense = nn.Linear(37, 32)\n"
    trace, roots = traced(scripts, same, "same.py")
    with pytest.raises(NothingModifiedError) as nothing:
        generate(trace, roots)
    assert "nothing to declare: the script changed model: encoder.layer.0.output.dense" in str(nothing.value)
    different = (
        "model = BertModel(config)\nmodel.encoder.layer[0].output.dense = nn.Linear(37, 32, bias=False)\n"
    )
    generated, _ = declared(scripts, different, INPUT_IDS, mode)
    assert "self.dense = nn.Linear(config.intermediate_size, config.hidden_size, bias=False)" in output_text(
        generated
    )


@pytest.mark.skipif(
    TRANSFORMERS_5, reason="transformers 5 removed head pruning (prune_heads, config.pruned_heads)"
)
def test_pruned_heads_are_nothing_to_declare(scripts):
    trace, roots = traced(scripts, "model = BertModel(config)\nmodel.prune_heads({0: [0, 1]})\n")
    with pytest.raises(NothingModifiedError) as nothing:
        generate(trace, roots)
    message = str(nothing.value)
    assert message.startswith(
        "nothing to declare: the script changed model: encoder.layer.0.attention.output.dense"
    )
    assert "encoder.layer.0.attention.self.query" in message
    model = trace.namespace["model"]
    rebuilt = transformers.BertModel(model.config)  # post_init prunes config.pruned_heads again
    rebuilt.load_state_dict(model.state_dict(), strict=True)


# --- ties ----------------------------------------------------------------------------------------------------


GPT2 = "model = GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=99, n_positions=64))\n"


def test_a_new_gpt2_head_the_config_would_tie_again_is_declared_untied(scripts, mode):
    generated, built = declared(
        scripts, GPT2 + "model.lm_head = nn.Linear(32, 99, bias=False)\n", INPUT_IDS, mode
    )
    assert built.config.tie_word_embeddings  # the checkpoint's config still asks for ties
    assert built.lm_head.weight is not built.transformer.wte.weight


def test_a_new_gpt2_head_with_tying_turned_off_as_advised_is_nothing_to_declare(scripts):
    body = GPT2 + "model.lm_head = nn.Linear(32, 99, bias=False)\nmodel.config.tie_word_embeddings = False\n"
    trace, roots = traced(scripts, body)
    with pytest.raises(NothingModifiedError) as nothing:
        generate(trace, roots)
    assert "nothing to declare: the script changed model: lm_head" in str(nothing.value)
    model = trace.namespace["model"]
    rebuilt = transformers.GPT2LMHeadModel(model.config)
    assert rebuilt.lm_head.weight is not rebuilt.transformer.wte.weight


def test_a_call_on_an_object_that_holds_the_model_is_refused_naming_the_changed_paths_and_the_holder(scripts):
    # As PeftModel.add_adapter: a method of a wrapper builds modules inside the model it holds.
    scripts(
        "holders.py",
        """
        from torch import nn

        class Holder(nn.Module):
            def __init__(self, model):
                super().__init__()
                self.base = model

            def add_heads(self):
                for layer in self.base.encoder.layer:
                    layer.extra = nn.Linear(32, 32)
        """,
    )
    trace, _ = traced(
        scripts, "from holders import Holder\nmodel = BertModel(config)\nHolder(model).add_heads()\n"
    )
    with pytest.raises(DeclarationError) as refused:
        generate(trace, {"model": trace.namespace["model"]})
    message = str(refused.value)
    assert "The call of add_heads at " in message
    assert (
        "changed encoder.layer.0.extra, encoder.layer.1.extra, but it was made on a Holder that holds"
        in message
    )
    assert "the model 'model' (as base), not on the model" in message
    assert message.endswith("(a function that changes the model in place).")


def test_a_wrapper_built_on_frozen_layers_is_compared_with_one_built_on_the_same(scripts):
    # A constructor that receives a model may read which of its parameters train: the original class rebuilt on
    # arguments that train everywhere would differ from the traced one, though the script changed nothing.
    body = """
class Capture(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        for module in inner.modules():
            if any(p.requires_grad for p in module.parameters(recurse=False)):
                module.register_forward_hook(capture)

    def forward(self, x):
        return self.inner(x)


def capture(module, inputs, output):
    return output


inner = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
inner[0].requires_grad_(False)
model = Capture(inner)
"""
    trace = run_script(scripts("frozen.py", HEADER + body))
    with pytest.raises(NothingModifiedError):
        roots = roots_to_declare(trace)
        generate(trace, roots)
