"""Rendering live constructor arguments back into source: each kind of value, and each refusal."""

from __future__ import annotations

import enum
import io
import math
from dataclasses import dataclass, field

import libcst as cst
import pytest
import torch
from torch import nn

from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.rendering.names import NameTable
from archit_codemod.declaration.rendering.objects import config_keywords
from archit_codemod.declaration.rendering.render import (
    OriginalArgument,
    RenderContext,
    Renderer,
    builtin_constructor,
    original_source,
)


class Pooling(enum.Enum):
    FIRST = "first"
    MEAN = "mean"


class TunerType(str, enum.Enum):
    """Like PEFT's ``PeftType``: a member is also a ``str`` (``repr`` is ``<TunerType.LORA: 'LORA'>``)."""

    LORA = "LORA"
    IA3 = "IA3"


class Rank(enum.IntEnum):
    LOW = 4
    HIGH = 16


class Permission(enum.IntFlag):
    READ = 1
    WRITE = 2


@dataclass
class AdapterConfig:
    r: int = 8
    alpha: float = 16.0
    targets: list[str] = field(default_factory=lambda: ["query", "value"])
    pooling: Pooling = Pooling.FIRST


def scale_by_two(x):
    return 2 * x


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


@pytest.fixture
def names() -> NameTable:
    return NameTable()


def _renderer(names: NameTable) -> Renderer:
    """A renderer for modules built without tracing and never changed (torch built-ins render from attributes)."""
    return Renderer(names)


def _context(**changes) -> RenderContext:
    return RenderContext(path="encoder.layer.0.attention", owner="BertAttention", **changes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, "3"),
        (-2, "-2"),
        (0.1, "0.1"),
        (1e-12, "1e-12"),
        ("gelu", '"gelu"'),
        ("it's", '"it\'s"'),
        (True, "True"),
        (None, "None"),
        (b"x", "b'x'"),
        ((1,), "(1,)"),
        ([1, (2, "a")], '[1, (2, "a")]'),
        ({"a": [1.5, None]}, '{"a": [1.5, None]}'),
        (math.inf, "float('inf')"),
    ],
)
def test_literals_render_as_literals(names, value, expected):
    rendered = _renderer(names).value(value, _context(), "x")
    assert _code(rendered) == expected
    assert eval(_code(rendered)) == value
    assert names.import_lines() == []


def test_an_argument_of_the_owners_call_renders_as_its_parameter_name(names):
    config = object()
    context = _context(parameters=[(config, "config")])
    assert _code(_renderer(names).value(config, context, "config")) == "config"
    # equal but distinct objects are not the parameter
    assert _code(_renderer(names).value([1], _context(parameters=[([1], "sizes")]), "x")) == "[1]"


def test_the_replaced_module_renders_as_its_original_expression(names):
    old = nn.Linear(2, 3)
    original = cst.parse_expression("nn.Linear(config.hidden_size, self.all_head_size)")
    context = _context(replaced=old, replaced_expression=original)
    assert (
        _code(_renderer(names).value(old, context, "base"))
        == "nn.Linear(config.hidden_size, self.all_head_size)"
    )


def _originals(*arguments):
    """``OriginalArgument``s from ``(parameter, position, value, source)`` tuples."""
    return [OriginalArgument(p, i, v, cst.parse_expression(code)) for p, i, v, code in arguments]


# nn.Linear(config.hidden_size, self.all_head_size, bias=config.use_bias) with hidden size and head size 32
LINEAR_32_32 = _originals(
    ("in_features", 0, 32, "config.hidden_size"),
    ("out_features", 1, 32, "self.all_head_size"),
    ("bias", None, True, "config.use_bias"),
)
# GPT-2's Conv1D(3 * self.embed_dim, self.embed_dim): nf=96, nx=32
CONV1D = _originals(("nf", 0, 96, "3 * self.embed_dim"), ("nx", 1, 32, "self.embed_dim"))


def _source(parameter, position, value, originals, same_shape, sizes=frozenset({32})):
    found = original_source(parameter, position, value, originals, same_shape=same_shape, sizes=sizes)
    return None if found is None else _code(found)


def test_the_same_parameter_name_takes_the_original_source():
    # a replacement of another shape (an nn.Linear(32, 64)): only names line up
    assert _source("in_features", 0, 32, LINEAR_32_32, same_shape=False) == "config.hidden_size"
    assert _source("out_features", 1, 64, LINEAR_32_32, same_shape=False) is None
    eps = _originals(("hidden_size", 0, 32, "config.hidden_size"), ("eps", None, 1e-6, "config.rms_norm_eps"))
    assert _source("eps", None, 1e-6, eps, same_shape=False) == "config.rms_norm_eps"


def test_coincidental_values_stay_literals():
    # LoRA-like arguments that happen to equal the hidden size: other names, not a same-shape replacement
    assert _source("alpha", None, 32, LINEAR_32_32, same_shape=False) is None
    assert _source("r", None, 32, LINEAR_32_32, same_shape=False) is None
    assert _source("rank", 0, 32, LINEAR_32_32, same_shape=False) is None  # same position, other meaning
    # even in a same-shape replacement, a value that is none of the parameters' sizes is not a size
    assert _source("dropout_dim", 2, 8, _originals(("d", 2, 8, "self.d")), same_shape=True) is None
    # True == 1 in Python, but a flag is not a size; 1.0 is not 1
    ones = _originals(("n", 0, 1, "self.one"))
    assert _source("bias", None, True, ones, same_shape=True, sizes=frozenset({1})) is None
    assert _source("scale", None, 1.0, ones, same_shape=True, sizes=frozenset({1})) is None


def test_an_equal_float_of_another_parameter_stays_a_literal():
    # BART: ScaledEmbedding(..., scale=1.0) for BartScaledWordEmbedding(vocab, d_model, padding_idx,
    # embed_scale=embed_scale) where embed_scale is 1.0 for this config only: same shape, other parameter.
    bart = _originals(
        ("num_embeddings", 0, 99, "config.vocab_size"),
        ("embedding_dim", 1, 32, "config.d_model"),
        ("padding_idx", 2, 1, "padding_idx"),
        ("embed_scale", None, 1.0, "embed_scale"),
    )
    sizes = frozenset({99, 32})
    assert _source("scale", None, 1.0, bart, same_shape=True, sizes=sizes) is None
    assert _source("scale", 3, 1.0, bart, same_shape=True, sizes=sizes) is None
    assert _source("embed_scale", None, 1.0, bart, same_shape=True, sizes=sizes) == "embed_scale"


def test_a_same_shape_replacement_matches_sizes_by_position_then_by_value():
    # nn.Linear(32, 32) for nn.Linear(config.hidden_size, self.all_head_size): equal values, by position
    assert _source("in_features", 0, 32, LINEAR_32_32, same_shape=True) == "config.hidden_size"
    assert _source("out_features", 1, 32, LINEAR_32_32, same_shape=True) == "self.all_head_size"
    # nn.Linear(32, 96) for Conv1D(3 * d, d): the positions are swapped; each value has one source
    sizes = frozenset({32, 96})
    assert _source("in_features", 0, 32, CONV1D, same_shape=True, sizes=sizes) == "self.embed_dim"
    assert _source("out_features", 1, 96, CONV1D, same_shape=True, sizes=sizes) == "3 * self.embed_dim"
    # a value with two different sources and no position to choose by stays a literal
    assert _source("features", None, 32, LINEAR_32_32, same_shape=True) is None


def test_a_module_constructor_call_leaves_out_its_device_and_keeps_its_dtype(names):
    # torch.nn.utils.skip_init builds with device="meta", then moves the module to a real device: the placement
    # belongs to whoever builds the model, and on meta the rebuilt module would hold no weights.
    renderer = _renderer(names)
    kwargs = {"bias": False, "device": torch.device("meta"), "dtype": torch.float16}
    call = renderer.call(cst.Name("Linear"), (32, 5), kwargs, _context(), nn.Linear)
    assert _code(call) == "Linear(32, 5, bias=False, dtype=torch.float16)"
    assert _code(renderer.call(cst.Name("Linear"), (32, 5), {"device": "cpu"}, _context(), nn.Linear)) == (
        "Linear(32, 5)"
    )
    # a call that builds no module (a config, a library function) keeps every argument
    assert (
        _code(renderer.call(cst.Name("make"), (), {"device": "cpu"}, _context(), None))
        == 'make(device="cpu")'
    )


def test_calls_match_original_arguments_only_when_given_the_modules_sizes(names):
    context = _context(original_arguments=LINEAR_32_32, replaced_sizes=frozenset({32}))
    renderer = _renderer(names)
    same_shape = renderer.call(
        cst.Name("Linear"), (32, 32), {"bias": True}, context, nn.Linear, sizes=frozenset({32})
    )
    assert _code(same_shape) == "Linear(config.hidden_size, self.all_head_size, bias=config.use_bias)"
    other_shape = renderer.call(
        cst.Name("Linear"), (32, 64), {}, context, nn.Linear, sizes=frozenset({32, 64})
    )
    assert _code(other_shape) == "Linear(config.hidden_size, 64)"
    # no sizes: a call that does not build a module of the replacement (a dataclass, ...) matches nothing
    assert _code(renderer.call(cst.Name("Linear"), (32, 32), {}, context, nn.Linear)) == "Linear(32, 32)"
    # nested values are never matched: a list of sizes is a literal
    assert _code(renderer.value([32], context, "sizes")) == "[32]"


def test_dtypes_and_devices_use_torch(names):
    renderer = _renderer(names)
    assert _code(renderer.value(torch.float16, _context(), "dtype")) == "torch.float16"
    assert _code(renderer.value(torch.device("cpu"), _context(), "device")) == "torch.device('cpu')"
    assert names.import_lines() == ["import torch"]


def test_enum_members_and_dataclasses_are_written_with_their_class_imported(names):
    renderer = _renderer(names)
    assert _code(renderer.value(Pooling.MEAN, _context(), "pooling")) == "Pooling.MEAN"
    rendered = renderer.value(AdapterConfig(r=4, targets=["query"], pooling=Pooling.MEAN), _context(), "cfg")
    assert _code(rendered) == 'AdapterConfig(r=4, targets=["query"], pooling=Pooling.MEAN)'
    assert _code(renderer.value(AdapterConfig(), _context(), "cfg")) == "AdapterConfig()"
    assert names.import_lines() == [f"from {__name__} import AdapterConfig, Pooling"]


def test_str_and_int_enum_members_are_written_by_name_not_as_primitives(names):
    renderer = _renderer(names)
    assert isinstance(TunerType.LORA, str) and isinstance(Rank.HIGH, int)
    assert _code(renderer.value(TunerType.LORA, _context(), "peft_type")) == "TunerType.LORA"
    assert _code(renderer.value(Rank.HIGH, _context(), "rank")) == "Rank.HIGH"
    assert _code(renderer.value(Permission.WRITE, _context(), "mode")) == "Permission.WRITE"
    # A combination of flags has no name of its own: the class called with the value builds it.
    combined = renderer.value(Permission.READ | Permission.WRITE, _context(), "mode")
    assert _code(combined) == "Permission(3)"
    assert eval(_code(combined)) is Permission.READ | Permission.WRITE
    rendered = renderer.value({"type": TunerType.IA3, "ranks": [Rank.LOW]}, _context(), "options")
    assert _code(rendered) == '{"type": TunerType.IA3, "ranks": [Rank.LOW]}'
    assert names.import_lines() == [f"from {__name__} import Permission, Rank, TunerType"]


def test_classes_and_module_level_functions_are_imported(names):
    renderer = _renderer(names)
    assert _code(renderer.value(nn.GELU, _context(), "activation")) == "nn.GELU"
    assert _code(renderer.value(scale_by_two, _context(), "fn")) == "scale_by_two"
    assert set(names.import_lines()) == {"from torch import nn", f"from {__name__} import scale_by_two"}


def test_untraced_built_in_modules_render_from_their_attributes(names):
    child = nn.ReLU()
    renderer = _renderer(names)
    assert _code(renderer.value([child, 2], _context(), "layers")) == "[nn.ReLU(), 2]"


def test_calls_keep_positional_and_keyword_arguments_as_passed(names):
    call = _renderer(names).call(cst.Name("Block"), (32, "relu"), {"dropout": 0.1}, _context())
    assert _code(call) == 'Block(32, "relu", dropout=0.1)'


@pytest.mark.parametrize(
    ("tensor", "expected"),
    [
        (torch.tensor(1.5), "torch.tensor(1.5, dtype=torch.float32)"),
        (torch.tensor([[1, 2], [3, 4]]), "torch.tensor([[1, 2], [3, 4]], dtype=torch.int64)"),
        (torch.tensor([True, False]), "torch.tensor([True, False], dtype=torch.bool)"),
        (torch.tensor([float("-inf"), 0.25]), "torch.tensor([float('-inf'), 0.25], dtype=torch.float32)"),
        (torch.zeros(3, 20, dtype=torch.bfloat16), "torch.full((3, 20), 0.0, dtype=torch.bfloat16)"),
        (torch.empty(0, 4), "torch.empty((0, 4), dtype=torch.float32)"),
    ],
)
def test_small_and_constant_tensors_render_as_the_factory_call_that_makes_them_again(names, tensor, expected):
    rendered = _code(_renderer(names).value(tensor, _context(), "tensor"))
    assert rendered == expected
    again = eval(rendered)
    assert again.dtype == tensor.dtype and again.shape == tensor.shape and torch.equal(again, tensor)


def test_a_float32_value_renders_exactly():
    tensor = torch.tensor([0.1, 1 / 3], dtype=torch.float32)  # neither is exact in binary
    again = eval(_code(_renderer(NameTable()).value(tensor, _context(), "tensor")))
    assert torch.equal(again, tensor)


@pytest.mark.parametrize(
    "value",
    [torch.arange(100.0), nn.Parameter(torch.zeros(2)), lambda x: x, io.StringIO("x"), object()],
    ids=["large varied tensor", "parameter", "lambda", "open file", "unknown object"],
)
def test_values_without_source_form_are_refused_with_path_class_and_argument(names, value):
    with pytest.raises(DeclarationError) as error:
        _renderer(names).call(cst.Name("Wrapper"), (value,), {}, _context(), cls=_Wrapper)
    message = str(error.value)
    assert "encoder.layer.0.attention" in message
    assert "BertAttention" in message
    assert "'init'" in message  # the parameter the value was passed as


def test_a_closure_is_refused(names):
    factor = 3

    def scale(x):
        return factor * x

    with pytest.raises(DeclarationError, match="'fn'"):
        _renderer(names).value(scale, _context(), "fn")


def test_a_class_defined_inside_a_function_is_refused_as_such_with_a_fix(names):
    def make_graph_like_module() -> nn.Module:
        class Impl(nn.Module):  # as torch.fx's GraphModule.__new__ creates GraphModuleImpl
            pass

        return Impl()

    with pytest.raises(DeclarationError) as refused:
        _renderer(names).value(make_graph_like_module(), _context(), "intermediate")
    message = str(refused.value)
    assert message.startswith("Cannot declare encoder.layer.0.attention (in BertAttention): ")
    assert "make_graph_like_module.<locals>.Impl is defined inside a function" in message
    assert "Fix: define it at the top level of the script or of a module" in message
    assert "without tracing" not in message  # it was traced: its class is what cannot be named


class _Wrapper(nn.Module):
    def __init__(self, init):
        super().__init__()


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        (nn.Linear(4, 5), ((4, 5), {})),
        (nn.Linear(4, 5, bias=False), ((4, 5), {"bias": False})),
        (nn.Embedding(10, 4, padding_idx=1), ((10, 4), {"padding_idx": 1})),
        (nn.LayerNorm(8, eps=1e-6), ((8,), {"eps": 1e-6})),
        (nn.LayerNorm(8), ((8,), {})),
        (nn.Dropout(0.1), ((0.1,), {})),
        (nn.Identity(), ((), {})),
        (nn.GELU(approximate="tanh"), ((), {"approximate": "tanh"})),
        (nn.Linear(2, 2, dtype=torch.float16), ((2, 2), {"dtype": torch.float16})),
    ],
)
def test_builtin_modules_are_rebuilt_from_their_attributes(module, expected):
    args, kwargs = builtin_constructor(module)
    assert (args, kwargs) == expected
    rebuilt = type(module)(*args, **kwargs)
    assert [(n, p.shape, p.dtype) for n, p in rebuilt.named_parameters()] == [
        (n, p.shape, p.dtype) for n, p in module.named_parameters()
    ]


def test_other_modules_have_no_builtin_constructor():
    assert builtin_constructor(_Wrapper(1)) is None
    assert builtin_constructor(nn.Sequential(nn.ReLU())) is None


class _CompilerState:
    """Like torch.compile's OptimizeContext: a callable object that holds run-time state."""

    def __init__(self):
        self.cache = object()

    def __call__(self, function):
        return function


class _Scale:
    """A hook object that keeps its constructor arguments under the parameters' names."""

    def __init__(self, factor, offset=0.0):
        self.factor = factor
        self.offset = offset


class _Halved:
    """Keeps a value derived from its argument: no call of its class is guessed at."""

    def __init__(self, factor):
        self.half = factor / 2


def test_an_object_whose_class_builds_it_again_from_its_attributes_is_written_as_that_call(names):
    rendered = _code(_renderer(names).value(_Scale(0.5, offset=1.0), _context(), "hook"))
    assert rendered == "_Scale(factor=0.5, offset=1.0)"
    assert vars(eval(rendered)) == {"factor": 0.5, "offset": 1.0}
    changed = _Scale(0.5)
    changed.extra = 3  # set after building: the call would not make it
    for value in (changed, _Halved(4)):
        with pytest.raises(DeclarationError, match="which has no source form"):
            _renderer(names).value(value, _context(), "hook")


def test_a_config_other_than_the_models_is_written_as_a_call_of_its_class_that_rebuilds_it(names):
    # transformers 4's configs are no dataclasses; its public to_diff_dict() gives the arguments.
    from transformers import LlamaConfig

    config = LlamaConfig(hidden_size=32, num_attention_heads=4, num_hidden_layers=2, vocab_size=99)
    config.rms_norm_eps = 1e-5  # a copy of the model's config, changed after building it
    keywords = config_keywords(config)
    assert keywords is not None and "transformers_version" not in keywords
    rebuilt = LlamaConfig(**keywords)
    assert rebuilt.to_diff_dict() == config.to_diff_dict() and rebuilt.rms_norm_eps == 1e-5
    assert config_keywords({"hidden_size": 32}) is None


def test_a_config_copied_from_a_built_model_keeps_the_attention_implementation_the_model_chose(names):
    # A layer built from a copy of the model's config would otherwise run eager attention on the masks the
    # model prepares for SDPA (OPT's decoder gives SDPA no mask for a causal batch without padding).
    import copy

    from transformers import OPTConfig, OPTForCausalLM

    config = OPTConfig(hidden_size=16, num_attention_heads=2, num_hidden_layers=1, ffn_dim=8, vocab_size=99)
    OPTForCausalLM(config)  # resolves the attention implementation into its config (SDPA on CPU)
    wide = copy.deepcopy(config)
    wide.ffn_dim = 64
    keywords = config_keywords(wide)
    assert keywords is not None and keywords["attn_implementation"] == "sdpa"
    rebuilt = OPTConfig(**keywords)
    assert rebuilt._attn_implementation == "sdpa" and rebuilt.to_diff_dict() == wide.to_diff_dict()
    assert "attn_implementation" not in config_keywords(OPTConfig(hidden_size=16))


def test_a_config_a_parameter_config_holds_is_written_as_its_attribute(names):
    # GroundingDINO's load_backbone(config) builds the backbone from config.backbone_config itself.
    from transformers import AutoConfig

    config = AutoConfig.for_model("grounding-dino")
    context = _context(parameters=[(config, "config")])
    assert (
        _code(_renderer(names).value(config.backbone_config, context, "config")) == "config.backbone_config"
    )
    # another config, equal or not, is no attribute of it
    assert _code(_renderer(names).value(type(config.backbone_config)(), context, "config")).startswith(
        "SwinConfig("
    )


def test_a_backbone_config_is_written_with_the_stages_its_constructor_takes_back(names):
    # transformers 5's configs are dataclasses whose private fields (_out_features) the constructor does not take back
    from transformers import SwinConfig

    config = SwinConfig(
        embed_dim=16, depths=[1, 1, 1], num_heads=[1, 1, 1], out_features=["stage2", "stage3"]
    )
    rendered = _code(_renderer(names).value(config, _context(), "config"))
    assert "_out_features" not in rendered
    rebuilt = eval(rendered, {"SwinConfig": SwinConfig})
    assert rebuilt.out_features == ["stage2", "stage3"] and rebuilt.out_indices == [2, 3]
    assert rebuilt.depths == [1, 1, 1] and rebuilt.embed_dim == 16


def test_a_callable_object_is_refused_with_the_advice_for_values_not_for_functions(names):
    with pytest.raises(DeclarationError) as refused:
        _renderer(names).call(cst.Name("Wrapper"), (_CompilerState(),), {}, _context(), cls=_Wrapper)
    message = str(refused.value)
    assert "define the function at the top level" not in message
    assert "is best changed after building the model, in your own code." in message


class _Stateless:
    """Like diffusers' AttnProcessor: no constructor and no state of its own."""

    def __call__(self, hidden_states):
        return hidden_states


def test_an_object_without_constructor_or_state_is_its_class_called_without_arguments(names):
    rendered = _renderer(names).value(_Stateless(), _context(), "processor")
    assert _code(rendered) == "_Stateless()"


def test_a_quantization_config_is_written_with_the_settings_its_constructor_takes_back(names):
    # transformers' quantization configs are dataclasses whose settings are no dataclass fields: written from the
    # fields alone, this was QuantoConfig(), another config.
    from transformers import QuantoConfig

    config = QuantoConfig(weights="int4", modules_to_not_convert=["lm_head"])
    rendered = _code(_renderer(names).value(config, _context(), "quantization_config"))
    assert rendered == 'QuantoConfig(weights="int4", modules_to_not_convert=["lm_head"])'
    assert eval(rendered, {"QuantoConfig": QuantoConfig}).to_dict() == config.to_dict()
    assert names.import_lines() == ["from transformers import QuantoConfig"]


class _Settings:
    """Keeps its settings under other names than its parameters', and gives them back through ``to_dict()``."""

    def __init__(self, bits=8, groups=None):
        self._bits = bits
        self._groups = groups

    def to_dict(self):
        return {"bits": self._bits, "groups": self._groups}


def test_an_object_whose_to_dict_gives_its_constructors_parameters_is_written_as_that_call(names):
    rendered = _code(_renderer(names).value(_Settings(bits=4), _context(), "settings"))
    assert rendered == "_Settings(bits=4)"
    assert eval(rendered).to_dict() == {"bits": 4, "groups": None}


class _PlacedByDefault(nn.Module):
    """Like HQQ's ``HQQLinear``: a default device that places what it builds (not ``None``)."""

    def __init__(self, features: int, device: str = "cuda"):
        super().__init__()
        self.features = features


def test_a_device_argument_is_kept_where_the_parameters_default_places_the_module(names):
    renderer = _renderer(names)
    kept = renderer.call(cst.Name("Placed"), (8,), {"device": "cpu"}, _context(), cls=_PlacedByDefault)
    assert _code(kept) == 'Placed(8, device="cpu")'
    # torch's factory_kwargs default to None: placement is the loader's choice, and the argument goes.
    dropped = renderer.call(cst.Name("Linear"), (8, 8), {"device": "meta"}, _context(), cls=nn.Linear)
    assert _code(dropped) == "Linear(8, 8)"


def test_hqq_linears_device_is_kept_since_its_default_is_cuda(names):
    from hqq.core.quantize import HQQLinear

    rendered = _renderer(names).call(
        cst.Name("HQQLinear"), (None,), {"quant_config": {}, "device": "cpu"}, _context(), cls=HQQLinear
    )
    assert _code(rendered) == 'HQQLinear(None, quant_config={}, device="cpu")'


def test_a_lambda_renders_as_its_source_and_an_unwritten_one_is_refused(names, scripts):
    # A lambda has no name to import it by: only the script's own source writes it.
    from archit_codemod.declaration.script import ScriptSource

    path = scripts("lambdas.py", "scale = 3\nscaled = lambda x: x * scale\n")
    namespace: dict = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    renderer = Renderer(NameTable(ScriptSource(path=path, namespace=namespace)))
    assert _code(renderer.value(namespace["scaled"], _context(), "fn")) == "lambda x: x * 3"
    with pytest.raises(DeclarationError, match="which has no source form"):
        _renderer(names).value(lambda x: x, _context(), "fn")
