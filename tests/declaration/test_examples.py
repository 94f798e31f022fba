"""End-to-end tests of the codemod on the scripts of ``examples/``.

For every example: the command line's output equals ``golden/<example>/subclass.py`` (``pytest
--regen-golden`` rewrites it; read the diff before committing), the in-process API declares the same
code, and the generated code, imported on its own, rebuilds the traced model: same module tree, the traced
``state_dict`` loads strictly, the outputs are equal, and ``save_pretrained``/``from_pretrained`` round-trip.

What the generated code declares and how it runs is checked in both modes (the ``mode`` fixture): the subclass
module, and the vendored copies of the original files (whose golden folders ``test_vendor.py`` compares).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
import transformers
from examples_support import (
    EXAMPLES,
    REPO_ROOT,
    SUFFIX,
    GeneratedModules,
    build_like,
    called_names,
    class_defs,
    code_without_header,
    declared,
    declared_classes,
    declared_output,
    describe,
    example_inputs,
    golden_path,
    init_assignments,
    main_outputs,
    module_classes,
    run_codemod_cli,
    run_codemod_in_process,
    traced,
    unused_or_repeated_imports,
    write_golden,
)

example_names = pytest.mark.parametrize("stem", sorted(EXAMPLES))


@pytest.fixture(scope="session")
def generated(mode: str) -> Iterator[GeneratedModules]:
    modules = GeneratedModules(mode)
    yield modules
    modules.close()


def assert_same_outputs(model: torch.nn.Module, reference: torch.nn.Module) -> None:
    inputs = example_inputs(reference)
    with torch.no_grad():
        expected = main_outputs(reference(**inputs))
        actual = main_outputs(model(**inputs))
    assert expected, "nothing to compare in the model's output"
    assert actual.keys() == expected.keys()
    for name, tensor in expected.items():
        if tensor is None:
            assert actual[name] is None, f"{name} should be None"
        else:
            torch.testing.assert_close(
                actual[name], tensor, msg=lambda message, name=name: f"{name}: {message}"
            )


# --- command line and golden files ----------------------------------------------------------------


@example_names
def test_command_line_output_matches_golden(stem: str, tmp_path: Path, regen_golden: bool) -> None:
    example = EXAMPLES[stem]
    output = tmp_path / "subclass.py"
    code, stderr = run_codemod_in_process("-o", str(output), example.relative_script, *example.cli_args)
    assert code == 0, stderr[-6000:]
    source = output.read_text(encoding="utf-8")

    header = source[: source.find("\nclass ")]
    assert "generated" in header.lower(), "the output must start with a header saying it is generated"
    assert example.relative_script in header, "the header must name the script it was generated from"
    for machine_specific in (str(REPO_ROOT), str(tmp_path), "site-packages", "/tmp/"):
        assert machine_specific not in source, (
            f"the output contains the machine-specific {machine_specific!r}"
        )

    if regen_golden:
        write_golden(stem, source)
        return
    golden = golden_path(stem)
    assert golden.exists(), f"no golden file {golden}: run pytest --regen-golden, then read it"
    expected = golden.read_text(encoding="utf-8")
    diff = "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True), source.splitlines(keepends=True), str(golden), "generated"
        )
    )
    assert source == expected, f"the output differs from the golden file:\n{diff}"


def test_readme_command_prints_the_golden_file_and_nothing_else() -> None:
    """README's first command: ``python -m archit_codemod examples/roberta_word_embeddings.py``."""
    process = run_codemod_cli(EXAMPLES["roberta_word_embeddings"].relative_script)
    assert process.returncode == 0, describe(process)
    assert process.stderr == "", "the README's command must print nothing but the generated code"
    assert process.stdout == golden_path("roberta_word_embeddings").read_text(encoding="utf-8")


@example_names
def test_api_declares_the_golden_code(stem: str, regen_golden: bool) -> None:
    if regen_golden:
        pytest.skip("golden files are being regenerated from the command line's output")
    golden = golden_path(stem)
    assert golden.exists(), f"no golden file {golden}: run pytest --regen-golden, then read it"
    assert code_without_header(declared(stem)) == code_without_header(golden.read_text(encoding="utf-8"))


# --- executing the generated code -----------------------------------------------------------------


@example_names
def test_generated_code_rebuilds_the_traced_model(stem: str, generated: GeneratedModules) -> None:
    run = traced(stem)
    root_class = generated.root_class(stem)
    if isinstance(run.model, transformers.PreTrainedModel):
        if generated.mode == "subclass":
            # Subclasses, so from_pretrained, config_class and transformers' isinstance checks keep working.
            assert issubclass(root_class, type(run.model))
        else:
            # A vendored copy of the original: a model class of its own, with the original's config class.
            assert issubclass(root_class, transformers.PreTrainedModel)
            assert not issubclass(root_class, type(run.model))
            assert root_class.config_class is type(run.model).config_class

    rebuilt = build_like(root_class, run)
    traced_tree, rebuilt_tree = module_classes(run.model), module_classes(rebuilt)
    assert rebuilt_tree.keys() == traced_tree.keys()
    for path, class_name in traced_tree.items():
        assert rebuilt_tree[path] in (class_name, class_name + SUFFIX), (
            f"{path or '<root>'}: {rebuilt_tree[path]}"
        )

    rebuilt.load_state_dict(run.model.state_dict(), strict=True)
    assert_same_outputs(rebuilt.eval(), run.model)


@pytest.mark.parametrize("stem", [stem for stem in sorted(EXAMPLES) if stem != "plain_torch_network"])
def test_save_pretrained_round_trip(stem: str, generated: GeneratedModules, tmp_path: Path) -> None:
    """Tied-weight declarations must not point at a replaced module: saving and loading keeps every weight."""
    run = traced(stem)
    rebuilt = generated.rebuilt(stem)
    rebuilt.save_pretrained(tmp_path)
    reloaded, loading_info = type(rebuilt).from_pretrained(tmp_path, output_loading_info=True)
    assert not loading_info["missing_keys"], loading_info
    assert not loading_info["unexpected_keys"], loading_info
    assert_same_outputs(reloaded.eval(), run.model)


# --- what the generated code declares -------------------------------------------------------------


@example_names
def test_generated_classes_subclass_their_originals(stem: str) -> None:
    source = declared(stem)
    assert not unused_or_repeated_imports(source), unused_or_repeated_imports(source)
    generated = {name: node for name, node in class_defs(source).items() if name.endswith(SUFFIX)}
    assert generated, "no class was generated"
    for name, class_def in generated.items():
        original = name.removesuffix(SUFFIX)
        assert [ast.unparse(base) for base in class_def.bases][-1:] == [original] or any(
            ast.unparse(base).endswith(f".{original}") for base in class_def.bases
        ), f"{name} must subclass {original}"
        init = [
            node for node in class_def.body if isinstance(node, ast.FunctionDef) and node.name == "__init__"
        ]
        if init:
            # super(<the original or the ancestor whose __init__ body was inlined>, self).__init__: the copied
            # bodies must not run a second time.
            super_calls = [ast.unparse(call.func) for call in ast.walk(init[0]) if isinstance(call, ast.Call)]
            ancestors = {original, *(klass.__name__ for klass in class_of(source, original).__mro__)}
            skipped = [
                call for call in super_calls if call.startswith("super(") and call.endswith(".__init__")
            ]
            assert len(skipped) == 1 and skipped[0].removeprefix("super(").split(",")[0] in ancestors, (
                f"{name}.__init__ must call super({original}, self).__init__ so {original}.__init__ does not run"
            )
            assert "super().__init__" not in super_calls


def class_of(source: str, name: str) -> type:
    """The class ``name`` that the generated module ``source`` imports or copies (its original)."""
    import importlib

    for node in ast.parse(source).body:
        if isinstance(node, ast.ImportFrom) and any(alias.name == name for alias in node.names):
            return getattr(importlib.import_module(node.module), name)
    return torch.nn.Module  # a class copied from the script: only the first super() call matters


def generated_class_names(stem: str, mode: str) -> set[str]:
    """The classes generated for an example: in the one module (subclass mode) or in the vendored files."""
    names = set(declared_output(stem, mode).classes)
    assert names == {name for name in declared_classes(stem, mode) if SUFFIX in name}
    return names


def only_value(assignments: dict[str, list[ast.expr]], attribute: str) -> str:
    values = assignments.get(attribute, [])
    assert len(values) == 1, f"self.{attribute} is assigned {len(values)} times"
    return ast.unparse(values[0])


def test_seed_example_declares_embeddings_base_model_and_head(mode: str) -> None:
    classes = declared_classes("roberta_word_embeddings", mode)
    assert generated_class_names("roberta_word_embeddings", mode) == {
        "RobertaEmbeddingsModified",
        "RobertaModelModified",
        "RobertaForMaskedLMModified",
    }
    # The replacement class lives in the script: it is copied, not imported from __main__.
    assert "CoolNewEmbeddingMatrix" in classes
    assert not any("__main__" in file.text for file in declared_output("roberta_word_embeddings", mode).files)
    embeddings = init_assignments(classes["RobertaEmbeddingsModified"])
    assert only_value(embeddings, "word_embeddings") == "CoolNewEmbeddingMatrix(config, bottleneck_size=16)"
    assert "RobertaEmbeddingsModified" in called_names(classes["RobertaModelModified"])
    assert "RobertaModelModified" in called_names(classes["RobertaForMaskedLMModified"])


def test_seed_example_classes_are_defined_before_use() -> None:
    names = list(class_defs(declared("roberta_word_embeddings")))
    assert names.index("CoolNewEmbeddingMatrix") < names.index("RobertaEmbeddingsModified")
    assert names.index("RobertaEmbeddingsModified") < names.index("RobertaModelModified")
    assert names.index("RobertaModelModified") < names.index("RobertaForMaskedLMModified")


def test_lora_in_a_loop_is_one_rewrite_of_the_attention_class(mode: str) -> None:
    classes = declared_classes("bert_lora", mode)
    # transformers 4.57 builds BertSdpaSelfAttention (a subclass of BertSelfAttention), 5.x BertSelfAttention.
    attention_class = type(traced("bert_lora").model.bert.encoder.layer[0].attention.self).__name__
    assert generated_class_names("bert_lora", mode) == {
        f"{attention_class}Modified",
        "BertAttentionModified",
        "BertLayerModified",
        "BertEncoderModified",
        "BertModelModified",
        "BertForSequenceClassificationModified",
    }
    assert "LoRALinear" in classes
    attention = init_assignments(classes[f"{attention_class}Modified"])
    # The wrapped module is written as BertSelfAttention.__init__ builds it, not with this config's sizes.
    original_linear = "nn.Linear(config.hidden_size, self.all_head_size)"
    assert only_value(attention, "query") == f"LoRALinear({original_linear}, r=8, alpha=16)"
    assert only_value(attention, "value") == f"LoRALinear({original_linear}, r=8, alpha=16)"
    if "key" in attention:  # a copied __init__ keeps the untouched key projection as written
        assert only_value(attention, "key") == original_linear
    # Every layer is the same modified class: the encoder keeps its comprehension.
    layers = init_assignments(classes["BertEncoderModified"])["layer"][0]
    assert any(isinstance(node, ast.ListComp) for node in ast.walk(layers)), ast.unparse(layers)
    assert "BertLayerModified" in called_names(layers) and "BertLayer" not in called_names(layers)


def test_one_swapped_layer_keeps_the_comprehension_and_picks_per_index(generated: GeneratedModules) -> None:
    mode = generated.mode
    classes = declared_classes("roberta_swap_layer", mode)
    assert generated_class_names("roberta_swap_layer", mode) == {
        "RobertaEncoderModified",
        "RobertaModelModified",
        "RobertaForSequenceClassificationModified",
    }
    assert "ScaledRobertaLayer" in classes
    layers = init_assignments(classes["RobertaEncoderModified"])["layer"]
    assert len(layers) == 1
    comprehensions = [node for node in ast.walk(layers[0]) if isinstance(node, ast.ListComp)]
    assert len(comprehensions) == 1, ast.unparse(layers[0])
    assert {"ScaledRobertaLayer", "RobertaLayer"} <= called_names(comprehensions[0])
    rebuilt = generated.rebuilt("roberta_swap_layer")
    assert [type(layer).__name__ for layer in rebuilt.roberta.encoder.layer] == [
        "RobertaLayer",
        "ScaledRobertaLayer",
    ]


def test_pooler_set_to_none_is_declared_none(mode: str) -> None:
    classes = declared_classes("bert_pooler_none", mode)
    assert generated_class_names("bert_pooler_none", mode) == {"BertModelModified"}
    assert only_value(init_assignments(classes["BertModelModified"]), "pooler") == "None"


def test_rmsnorm_replaced_by_layernorm_everywhere(mode: str) -> None:
    classes = declared_classes("llama_layernorm", mode)
    assert generated_class_names("llama_layernorm", mode) == {
        "LlamaDecoderLayerModified",
        "LlamaModelModified",
        "LlamaForCausalLMModified",
    }
    layer = init_assignments(classes["LlamaDecoderLayerModified"])
    model = init_assignments(classes["LlamaModelModified"])
    for norm in (only_value(layer, "input_layernorm"), only_value(layer, "post_attention_layernorm")):
        assert norm.startswith("nn.LayerNorm("), norm
    assert only_value(model, "norm").startswith("nn.LayerNorm(")
    assert "LlamaRMSNorm" not in called_names(classes["LlamaDecoderLayerModified"])


def test_gpt2_conv1d_replaced_by_linear(mode: str) -> None:
    classes = declared_classes("gpt2_linear", mode)
    assert generated_class_names("gpt2_linear", mode) == {
        "GPT2AttentionModified",
        "GPT2MLPModified",
        "GPT2BlockModified",
        "GPT2ModelModified",
        "GPT2LMHeadModelModified",
    }
    mlp = init_assignments(classes["GPT2MLPModified"])
    assert only_value(mlp, "c_fc").startswith("nn.Linear(")
    assert only_value(mlp, "c_proj").startswith("nn.Linear(")
    attention = init_assignments(classes["GPT2AttentionModified"])
    # The self-attention branch ran and is rewritten; the cross-attention branch (not built) may stay.
    assert any(ast.unparse(value).startswith("nn.Linear(") for value in attention["c_attn"])
    assert only_value(attention, "c_proj").startswith("nn.Linear(")


def test_plain_network_copies_its_classes_and_rewrites_containers(mode: str) -> None:
    classes = declared_classes("plain_torch_network", mode)
    originals = {"FeedForward", "Block", "TinyNetwork"}
    if mode == "subclass":  # the script's classes are copied, and subclassed
        assert originals <= classes.keys()
    else:  # every instance of each class changed the same way: each is renamed in place
        assert not originals & classes.keys()
    assert generated_class_names("plain_torch_network", mode) == {
        "FeedForwardModified",
        "BlockModified",
        "TinyNetworkModified",
    }
    assert not any("__main__" in file.text for file in declared_output("plain_torch_network", mode).files)
    feed_forward = init_assignments(classes["FeedForwardModified"])
    layers = only_value(feed_forward, "layers")
    assert called_names(ast.parse(layers)) == {"nn.Sequential", "nn.Linear", "nn.GELU"}, layers
    network = init_assignments(classes["TinyNetworkModified"])
    assert called_names(ast.parse(only_value(network, "classifier"))) == {
        "nn.Sequential",
        "nn.Dropout",
        "nn.Linear",
    }
    blocks = only_value(network, "blocks")
    assert "BlockModified" in blocks and "for _ in range(depth)" in blocks, blocks


def test_lora_on_a_7b_model_declares_the_same_code_as_on_a_tiny_one(mode: str) -> None:
    """The CLI's golden file comes from Llama-7B on meta, the API's run from a tiny Llama on CPU."""
    classes = declared_classes("llama_7b_meta", mode)
    assert generated_class_names("llama_7b_meta", mode) == {
        "LlamaAttentionModified",
        "LlamaDecoderLayerModified",
        "LlamaModelModified",
        "LlamaForCausalLMModified",
    }
    attention = init_assignments(classes["LlamaAttentionModified"])
    assert only_value(attention, "q_proj").startswith("LoRALinear(nn.Linear(")
    assert only_value(attention, "q_proj").endswith(", r=16, alpha=32)")
    assert only_value(attention, "v_proj").startswith("LoRALinear(nn.Linear(")


# --- imports, loggers and device maps -------------------------------------------------------------------------


@example_names
def test_each_class_is_imported_from_the_shortest_public_package_that_exports_it(stem: str) -> None:
    import importlib
    import inspect

    for node in ast.parse(declared(stem)).body:
        if not isinstance(node, ast.ImportFrom):
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            obj = getattr(module, alias.name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            parts = node.module.split(".")
            shorter = [".".join(parts[:end]) for end in range(1, len(parts))]
            exporting = [
                name for name in shorter if getattr(importlib.import_module(name), alias.name, None) is obj
            ]
            assert not exporting, (
                f"{alias.name} is imported from {node.module}, but {exporting[0]} exports it"
            )


def test_a_copied_logger_call_gets_a_logger_of_the_generated_module() -> None:
    source = declared("roberta_word_embeddings")
    assert "logger.warning(" in source
    # transformers' module-level logger is not imported from modeling_roberta: the statement is copied
    assert "\nlogger = logging.get_logger(__name__)\n" in source
    assert "from transformers.utils import logging\n" in source
    assert not any(
        alias.name == "logger"
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    )


@pytest.mark.parametrize("stem", ["bert_lora", "roberta_swap_layer", "llama_layernorm"])
def test_device_maps_keep_the_new_layer_classes_whole(stem: str, generated: GeneratedModules) -> None:
    """transformers and accelerate keep a module on one device when its class name is in ``_no_split_modules``."""
    run = traced(stem)
    listed = set(type(run.model)._no_split_modules or []) | set(
        type(run.model.base_model)._no_split_modules or []
    )
    rebuilt = generated.rebuilt(stem)
    no_split = set(rebuilt._no_split_modules) | set(type(rebuilt.base_model)._no_split_modules)
    # The modules whose traced class is (or subclasses) a listed class; a vendored copy subclasses nothing listed.
    traced_modules = dict(run.model.named_modules())
    layers = [
        module
        for path, module in rebuilt.named_modules()
        if any(klass.__name__ in listed for klass in type(traced_modules[path]).__mro__)
    ]
    assert any(type(module).__name__ not in listed for module in layers), (
        "the example changes no listed class"
    )
    for module in layers:
        assert type(module).__name__ in no_split, f"{type(module).__name__} may be split by device_map='auto'"
