"""The zoo's fast subset: one architecture per family, every kind of change, both modes, on meta.

Each kind is a script of ``benchmarks/zoo`` run by the codemod in process (trace once, then subclass and vendor
mode from that trace), as ``benchmarks/sweep_architectures.py`` runs it on every architecture of transformers;
here the models are tiny (config settings given as the scripts' extra arguments). A cell passes when the
output verifies and an independent rebuild on meta (module paths, classes, shapes, tying) agrees with the
traced model, or when the codemod says there is nothing to declare and the original class, built from the
traced model's config, rebuilds the model.
"""

from __future__ import annotations

import sys

import pytest
import transformers
from packaging.version import Version

from tests.declaration.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
import zoo_cells  # noqa: E402

TINY = "hidden_size=32 num_hidden_layers=2 num_attention_heads=4 intermediate_size=37"
FAMILIES = {
    "encoder": ("bert", "BertForMaskedLM", f"{TINY} vocab_size=99"),
    "fused-qkv decoder": (
        "gpt2",
        "GPT2ForSequenceClassification",
        "n_embd=32 n_layer=2 n_head=4 vocab_size=99",
    ),
    "decoder": ("llama", "LlamaForCausalLM", f"{TINY} num_key_value_heads=2 vocab_size=99"),
    "seq2seq": (
        "t5",
        "T5ForConditionalGeneration",
        "d_model=32 d_ff=37 d_kv=8 num_heads=4 num_layers=2 num_decoder_layers=2 vocab_size=99",
    ),
    "vision": ("vit", "ViTForImageClassification", f"{TINY} image_size=32 patch_size=8"),
    "speech seq2seq": (
        "whisper",
        "WhisperForConditionalGeneration",
        "d_model=32 encoder_layers=2 decoder_layers=2 encoder_attention_heads=4 decoder_attention_heads=4 "
        "encoder_ffn_dim=37 decoder_ffn_dim=37",
    ),
    "dual encoder (base model)": (
        "clip",
        "CLIPModel",
        " ".join(f"{part}.{setting}" for part in ("text_config", "vision_config") for setting in TINY.split())
        + " vision_config.image_size=32 vision_config.patch_size=8 projection_dim=16",
    ),
}

# Every cell not listed passes. Checked by hand against the models' structure: ViT's input embedding is a
# patch convolution; CLIPModel is a base model (no task head) with no single input embedding. T5's
# set_input_embeddings gives one module to three owners (shared, encoder.embed_tokens, decoder.embed_tokens): the
# generated class makes that call again after __init__, so the three stay one module.
EXPECTED = {
    ("vision", "embedding"): "not-applicable",
    ("dual encoder (base model)", "head"): "not-applicable",
    ("dual encoder (base model)", "embedding"): "not-applicable",
}
REFUSAL = {}
if Version(transformers.__version__) < Version("5"):
    # transformers 4.57's T5 _init_weights reads `q.weight` of every attention: a wrapper without a weight fails
    # the generated class's post_init, and the codemod refuses rather than declaring a class that cannot be built.
    EXPECTED[("seq2seq", "lora")] = "refused"
    REFUSAL[("seq2seq", "lora")] = "'LoRALinear' object has no attribute 'weight'"


# Cells left to the sweep, to keep this file's CPU time near 60 s: what they test, another family tests here
# (GPT-2's LayerNorms and classifier like BERT's and ViT's; CLIP's attention and LayerNorms like ViT's).
LEFT_TO_THE_SWEEP = {
    ("fused-qkv decoder", "norms"),
    ("fused-qkv decoder", "head"),
    ("dual encoder (base model)", "lora"),
    ("dual encoder (base model)", "norms"),
}
CELLS = [
    pytest.param(family, kind, id=f"{family}-{kind}")
    for family in FAMILIES
    for kind in zoo_cells.KINDS
    if (family, kind) not in LEFT_TO_THE_SWEEP
]


@pytest.mark.parametrize(("family", "kind"), CELLS)
def test_zoo_cell(family: str, kind: str) -> None:
    model_type, class_name, settings = FAMILIES[family]
    cells = zoo_cells.run_kind([model_type], class_name, kind, settings=tuple(settings.split()))

    expected = EXPECTED.get((family, kind), "pass")
    assert [(cell["mode"], cell["result"]) for cell in cells] == [
        (mode, expected) for mode in zoo_cells.MODES
    ], [(cell["mode"], cell["stage"], cell["reason"]) for cell in cells]
    if expected == "refused":
        assert all(REFUSAL[family, kind] in cell["reason"] for cell in cells)
    if kind == "truncate":
        # The config says how many layers there are: the original class rebuilds the truncated model.
        assert all(cell["reason"].startswith("nothing to declare") for cell in cells)


def test_truncation_whose_config_would_describe_another_model_is_not_applicable() -> None:
    # Swin's last stage has no patch merging and its final norm is as wide as that stage: with num_layers halved,
    # the config builds stage 0 without the downsampling the model keeps, and a narrower norm (the codemod would
    # rightly refuse); the zoo calls the change not applicable, naming the first tensor that differs.
    settings = (
        "embed_dim=8",
        "depths=[1,1]",
        "num_layers=2",
        "num_heads=[1,1]",
        "image_size=32",
        "patch_size=4",
        "window_size=2",
    )
    result, _ = zoo_cells.plain_run(
        zoo_cells.ZOO / zoo_cells.KINDS["truncate"], ["swin"], "SwinModel", settings
    )

    assert result["result"] == "not-applicable"
    assert (
        "the layer count also sizes encoder.layers.0.downsample.norm.bias: (32,) in the model, None"
        in (result["reason"])
    )
