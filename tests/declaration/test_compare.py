"""Snapshots of models as plain data, and the differences between two of them."""

from __future__ import annotations

import enum
import types

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations, parametrize, prune
from transformers import BertConfig, BertForMaskedLM, GPT2Config, GPT2LMHeadModel, LlamaConfig

from archit_codemod.declaration.checking.compare import differences, path_and_ancestors, snapshot

TINY_BERT = BertConfig(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, vocab_size=99
)
TINY_GPT2 = GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=99, n_positions=64)


def described(expected: nn.Module, got: nn.Module, **options) -> list[str]:
    return [
        d.describe("original", "traced") for d in differences(snapshot(expected), snapshot(got), **options)
    ]


class Block(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.act = nn.ReLU()
        self.width = width


def test_two_builds_of_a_transformers_model_have_no_difference():
    # Many plain settings (num_attention_heads, scaling, is_decoder, layer_idx...) come from the config.
    with torch.device("meta"):
        reference = BertForMaskedLM(TINY_BERT)
    model = BertForMaskedLM(TINY_BERT).eval()
    model.gradient_checkpointing_enable()
    assert differences(snapshot(reference), snapshot(model)) == []
    # Training state is compared on request: the mode and gradient checkpointing differ.
    training = described(reference, model, training_state=True)
    assert "<root>: setting training = False, original = True" in training
    assert any("setting gradient_checkpointing = True" in line for line in training)
    # gradient_checkpointing_enable may add transformers' enable_input_require_grads hook: training state too.


def test_a_model_cast_to_bfloat16_is_the_same_architecture_but_one_cast_layer_is_not():
    reference = Block()
    assert differences(snapshot(reference), snapshot(Block().to(torch.bfloat16))) == []
    mixed = nn.Sequential(Block(), Block())
    mixed[1].fc.to(torch.float16)
    found = described(nn.Sequential(Block(), Block()), mixed)
    assert found == [
        "1.fc.weight: parameter dtype torch.float16, original torch.float32",
        "1.fc.bias: parameter dtype torch.float16, original torch.float32",
    ]


def test_pruning_shows_its_tensors_and_its_forward_pre_hook():
    pruned = Block()
    prune.l1_unstructured(pruned.fc, "weight", amount=0.5)
    assert described(Block(), pruned) == [
        "fc.weight: parameter (4, 4) missing from the traced model",
        "fc.weight_orig: parameter (4, 4) not in the original model",
        "fc.weight_mask: buffer (4, 4) not in the original model",
        "fc: forward pre-hook torch.nn.utils.prune.L1Unstructured not in the original model",
        # The hook keeps the pruned weight as a plain attribute, computed from the two tensors above.
        "fc: state weight a tensor of shape (4, 4) not in the original model",
    ]


def test_old_style_weight_norm_is_a_hook_object_named_by_its_class():
    normed = Block()
    torch.nn.utils.weight_norm(normed.fc)
    found = described(Block(), normed)
    assert "fc: forward pre-hook torch.nn.utils.weight_norm.WeightNorm not in the original model" in found
    assert "fc.weight_g: parameter (4, 1) not in the original model" in found


def test_parametrizations_compare_by_class_and_original_shape():
    weight_normed, orthogonal = Block(), Block()
    parametrizations.weight_norm(weight_normed.fc)
    parametrizations.orthogonal(orthogonal.fc)
    # An unparametrized module is another class than a parametrized one.
    assert described(Block(), weight_normed) == [
        "fc: traced ParametrizedLinear, original Linear",
    ]
    again = Block()
    parametrizations.weight_norm(again.fc)
    assert differences(snapshot(again), snapshot(weight_normed)) == []
    found = described(weight_normed, orthogonal)
    # weight_norm splits the weight into two originals (g and v).
    assert (
        "fc: parametrization weight torch.nn.utils.parametrizations._Orthogonal of original (4, 4), "
        "original torch.nn.utils.parametrizations._WeightNorm of original (4, 1), (4, 4)"
    ) in found


def test_a_custom_parametrization_is_named_by_its_qualified_class_name():
    class Symmetric(nn.Module):
        def forward(self, weight):
            return weight.triu() + weight.triu(1).transpose(0, 1)

    symmetric = Block()
    parametrize.register_parametrization(symmetric.fc, "weight", Symmetric())
    info = snapshot(symmetric).modules["fc"]
    assert info.parametrizations == {
        "weight": ((f"{__name__}.{Symmetric.__qualname__}",), ((4, 4),)),
    }


def test_forward_hooks_are_named_by_function():
    def log_output(module, inputs, output):
        return output

    hooked = Block()
    hooked.act.register_forward_hook(log_output)
    assert described(Block(), hooked) == [
        f"act: forward hook {__name__}.{log_output.__qualname__} not in the original model"
    ]


class Mode(enum.Enum):
    FAST = "fast"
    EXACT = "exact"


def test_plain_settings_compare_by_value_and_other_attributes_by_what_they_hold():
    changed = Block()
    changed.width = 8
    changed.mode = Mode.FAST
    changed.shape = (1, 2)
    changed.lookup = {"a": 1}  # instance state: compared by its items
    changed.device_used = torch.device("cpu")  # placement, not architecture
    assert described(Block(), changed) == [
        "<root>: setting width = 8, original = 4",
        f"<root>: setting mode = '{__name__}.Mode.FAST' not in the original model",
        "<root>: setting shape = (1, 2) not in the original model",
        "<root>: state lookup a dict not in the original model",
    ]
    same, other = Block(), Block()
    same.lookup, other.lookup = {"a": 1}, {"a": 2}
    assert described(same, other) == ["<root>: state lookup['a'] = 2, original = 1"]  # the item that differs


def scaled_forward(self, x):
    return 2 * self.act(self.fc(x))


class Steering:
    def __init__(self, scale):
        self.scale = scale


def test_a_forward_bound_to_one_instance_and_an_object_it_holds_are_differences():
    patched = Block()
    patched.forward = types.MethodType(scaled_forward, patched)
    patched.fc.controller = Steering(0.5)
    assert described(Block(), patched) == [
        f"<root>: state forward bound method {__name__}.scaled_forward not in the original model",
        f"fc: state controller a {__name__}.Steering with other attributes not in the original model",
    ]
    # Objects compare by their attributes: another scale is another model.
    again = Block()
    again.forward = types.MethodType(scaled_forward, again)
    again.fc.controller = Steering(0.25)
    assert described(again, patched) == [
        f"fc: state controller a {__name__}.Steering with other attributes, original a {__name__}.Steering "
        "with other attributes"
    ]
    again.fc.controller = Steering(0.5)
    assert described(again, patched) == []


class Switchable(nn.Linear):
    """Like a PEFT tuner layer: ``disable_adapters`` is read through a property from a private attribute."""

    def __init__(self) -> None:
        super().__init__(2, 2)
        self._disable_adapters = False
        self._cache = {}

    @property
    def disable_adapters(self) -> bool:
        return self._disable_adapters


def test_a_private_attribute_read_through_a_public_property_is_a_setting_other_private_ones_are_state():
    changed = Switchable()
    changed._disable_adapters = True
    changed._cache = 3
    assert described(Switchable(), changed) == [
        "<root>: setting _disable_adapters = True, original = False",
        "<root>: state _cache = 3, original a dict",
    ]
    # A private plain value on one side only is a record of how the object was made (from_pretrained's
    # _is_hf_initialized), not a difference; a private object is (what a class decorator gives each instance).
    del changed._disable_adapters
    changed._cache = {}
    changed._loaded = True
    assert described(Switchable(), changed) == []
    changed._kernel_funcs = {"rotary": nn.Identity()}
    assert described(Switchable(), changed) == [
        "<root>: state _kernel_funcs a dict not in the original model"
    ]


def test_the_folder_a_model_was_loaded_from_is_no_difference(tmp_path):
    BertForMaskedLM(TINY_BERT).save_pretrained(tmp_path)
    loaded = BertForMaskedLM.from_pretrained(tmp_path)
    assert loaded.name_or_path == str(tmp_path)
    assert described(BertForMaskedLM(TINY_BERT), loaded) == []
    changed = BertForMaskedLM(TINY_BERT)
    changed.name_or_path, changed.cls.predictions.width = "elsewhere", 3
    assert described(BertForMaskedLM(TINY_BERT), changed) == [
        "cls.predictions: setting width = 3 not in the original model"
    ]


def test_a_child_set_to_none_reads_like_an_attribute_set_to_none():
    class MaybeAct(nn.Module):
        def __init__(self, with_act: bool):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.ReLU() if with_act else None

    unset = MaybeAct(with_act=True)
    unset.act = None  # stays a registered child, holding None
    never = MaybeAct(with_act=False)  # a plain attribute
    assert "act" in unset._modules and "act" not in never._modules
    assert differences(snapshot(never), snapshot(unset)) == []


def test_ties_are_compared_both_ways():
    tied = GPT2LMHeadModel(TINY_GPT2)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    untied = GPT2LMHeadModel(TINY_GPT2)
    untied.lm_head.weight = nn.Parameter(untied.lm_head.weight.detach().clone())
    assert described(tied, untied) == [
        "lm_head.weight: one tensor with transformer.wte.weight in the original model, with nothing in the "
        "traced model"
    ]
    assert described(untied, tied) == [
        "lm_head.weight: one tensor with nothing in the original model, with transformer.wte.weight in the "
        "traced model"
    ]


def test_an_attribute_restating_the_config_is_no_difference():
    resized = BertForMaskedLM(TINY_BERT)
    resized.resize_token_embeddings(120)
    assert vars(resized)["vocab_size"] == resized.config.vocab_size == 120
    with torch.device("meta"):
        reference = BertForMaskedLM(resized.config)
    assert "vocab_size" not in vars(reference)
    assert differences(snapshot(reference), snapshot(resized)) == []
    resized.vocab_size = 7  # no longer the config's value: a setting of its own
    assert described(reference, resized) == ["<root>: setting vocab_size = 7 not in the original model"]


def test_a_setting_a_heterogeneous_config_gives_per_layer_is_not_restated_by_it():
    # transformers 5 configs take per-layer overrides and refuse to read such a setting globally (a
    # RuntimeError); an older transformers keeps per_layer_config as a plain attribute: the same comparison.
    config = LlamaConfig(
        hidden_size=32,
        num_hidden_layers=2,
        intermediate_size=37,
        per_layer_config={1: {"intermediate_size": 40}},
    )

    class Mlp(nn.Module):
        def __init__(self, config):
            super().__init__()
            self.config = config

    widened = Mlp(config)
    widened.intermediate_size = 40
    assert described(Mlp(config), widened) == [
        "<root>: setting intermediate_size = 40 not in the original model"
    ]


def test_under_a_module_of_another_class_nothing_more_is_reported():
    replaced = Block()
    replaced.fc = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 4))
    assert described(Block(), replaced) == ["fc: traced Sequential, original Linear"]
    removed = Block()
    del removed.fc
    assert described(Block(), removed) == ["fc: missing from the traced model (Linear)"]


@pytest.mark.parametrize("requires_grad", [False])
def test_requires_grad_is_training_state(requires_grad):
    frozen = Block()
    frozen.fc.weight.requires_grad_(requires_grad)
    assert differences(snapshot(Block()), snapshot(frozen)) == []
    assert described(Block(), frozen, training_state=True) == [
        "fc.weight: parameter requires_grad False, original True"
    ]


def test_path_and_ancestors_go_up_to_the_root():
    assert path_and_ancestors("model.layers.10.self_attn") == [
        "model.layers.10.self_attn",
        "model.layers.10",
        "model.layers",
        "model",
        "",
    ]
    assert path_and_ancestors("lm_head") == ["lm_head", ""]
    assert path_and_ancestors("") == [""]


def test_nothing_under_a_module_of_another_class_is_compared_among_many_layers():
    class Wide(nn.Module):
        def __init__(self, width: int):
            super().__init__()
            self.layers = nn.ModuleList(nn.Sequential(nn.Linear(2, 2), nn.ReLU()) for _ in range(width))

    traced = Wide(12)
    for index in (1, 10):
        traced.layers[index] = nn.Sequential(nn.Linear(2, 3), nn.ReLU())  # same classes, another width
    traced.layers[11] = nn.Identity()  # another class: its missing children are not reported
    assert described(Wide(12), traced) == [
        "layers.1.0.weight: parameter shape (3, 2), original (2, 2)",
        "layers.1.0.bias: parameter shape (3,), original (2,)",
        "layers.1.0: setting out_features = 3, original = 2",
        "layers.10.0.weight: parameter shape (3, 2), original (2, 2)",
        "layers.10.0.bias: parameter shape (3,), original (2,)",
        "layers.10.0: setting out_features = 3, original = 2",
        "layers.11: traced Identity, original Sequential",
    ]


class MarkedTensor(torch.Tensor):
    """A tensor subclass standing for a quantized layout (torchao's Int8Tensor): same shape and dtype."""


def test_a_parameter_turned_into_a_tensor_subclass_is_a_difference() -> None:
    original, changed = Block(), Block()
    changed.fc.weight = nn.Parameter(changed.fc.weight.detach().as_subclass(MarkedTensor))
    assert described(original, changed) == [
        f"fc.weight: parameter class {__name__}.MarkedTensor, original torch.Tensor"
    ]
    assert described(Block(), Block()) == []
