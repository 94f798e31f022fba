"""End to end: trace a modification script, generate, verify, then execute the generated classes.

Execution: the generated code is imported on its own (as a package), its root class built with real weights, the
traced model's ``state_dict`` loaded strictly, and the outputs compared in eval mode. Tiny configs only. Every case
runs in both modes (the ``mode`` fixture): subclasses, and edited copies of the original files.
"""

from __future__ import annotations

import textwrap

import pytest
import torch
import transformers
from output_support import class_code, imported_root, init_code, script_file
from packaging.version import Version
from torch import nn
from transformers import RobertaConfig, RobertaForMaskedLM

from archit_codemod.declaration.api import declare, generate, infer_trace, verify
from archit_codemod.declaration.checking.verify import build_root, load_generated, load_output
from archit_codemod.declaration.compiler import printDifference
from archit_codemod.declaration.errors import DeclarationError
from archit_codemod.declaration.tracing.roots import find_roots
from archit_codemod.declaration.tracing.tracer import run_script, trace

TRANSFORMERS_5 = Version(transformers.__version__) >= Version("5")

TINY = "vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37, max_position_embeddings=64"

SEED_EMBEDDINGS = """
class CoolNewEmbeddingMatrix(nn.Module):
    \"\"\"Factorised word embeddings: a narrow table, then an up-projection.\"\"\"

    def __init__(self, config, bottleneck_size: int = 128):
        super().__init__()
        self.lookup = nn.Embedding(config.vocab_size, bottleneck_size, padding_idx=config.pad_token_id)
        self.up_projection = nn.Linear(bottleneck_size, config.hidden_size, bias=False)

    def forward(self, input_ids):
        return self.up_projection(self.lookup(input_ids))
"""


def run(tmp_path, body: str, *args: str, mode: str):
    """Trace the script ``body``, generate in ``mode`` and verify; returns ``(generated, trace, roots)``."""
    script = tmp_path / "modify.py"
    script.write_text(textwrap.dedent(body))
    traced = run_script(script, list(args))
    roots = find_roots(traced)
    generated = generate(traced, roots, mode=mode)
    verify(generated, traced, roots)
    return generated, traced, roots


def rebuild(generated, traced, roots, name: str = "model") -> nn.Module:
    """Build the generated root class with real weights and load the traced weights strictly."""
    with load_output(generated) as package:
        module, class_name = generated.roots[name]
        built = build_root(package.module(module), class_name, roots[name], traced)
    built.load_state_dict(roots[name].state_dict(), strict=True)
    return built.eval()


def assert_same_outputs(built: nn.Module, original: nn.Module, inputs) -> None:
    original.eval()
    with torch.no_grad():
        expected, got = original(inputs), built(inputs)
    expected = expected if isinstance(expected, torch.Tensor) else expected[0]
    got = got if isinstance(got, torch.Tensor) else got[0]
    assert torch.equal(got, expected)


def input_ids() -> torch.Tensor:
    return torch.randint(3, 99, (2, 8), generator=torch.Generator().manual_seed(1))


def test_seed_example_roberta_word_embeddings_from_pretrained(tmp_path, mode):
    checkpoint = tmp_path / "checkpoint"
    RobertaForMaskedLM(RobertaConfig(**eval(f"dict({TINY})"), type_vocab_size=1)).save_pretrained(checkpoint)
    generated, traced, roots = run(
        tmp_path,
        f"""
        import sys
        import torch
        from torch import nn
        from transformers import RobertaForMaskedLM
        {textwrap.indent(SEED_EMBEDDINGS, "        ").strip()}

        model = RobertaForMaskedLM.from_pretrained(sys.argv[1])
        model.roberta.embeddings.word_embeddings = CoolNewEmbeddingMatrix(model.config, bottleneck_size=16)
        """,
        str(checkpoint),
        mode=mode,
    )
    assert generated.root_classes == {"model": "RobertaForMaskedLMModified"}
    for class_name, line in (
        (
            "RobertaEmbeddingsModified",
            "        self.word_embeddings = CoolNewEmbeddingMatrix(config, bottleneck_size=16)",
        ),
        ("RobertaModelModified", "        self.embeddings = RobertaEmbeddingsModified(config)"),
        (
            "RobertaForMaskedLMModified",
            "        self.roberta = RobertaModelModified(config, add_pooling_layer=False)",
        ),
    ):
        assert line in init_code(generated, class_name)
    # A subclass skips its original's __init__; a vendored class is the original, edited: its super() stays.
    expected_super = (
        "super(RobertaEmbeddings, self).__init__()" if mode == "subclass" else "super().__init__()"
    )
    assert f"        {expected_super}\n" in init_code(generated, "RobertaEmbeddingsModified")
    for file in generated.files:  # the header says where the code comes from
        assert file.text.startswith("# Generated by archit_codemod from the script"), file.name
    if mode == "subclass":
        source = generated.source
        assert "class CoolNewEmbeddingMatrix(nn.Module):" in source
        for line in (
            "class RobertaEmbeddingsModified(RobertaEmbeddings):",
            "class RobertaModelModified(RobertaModel):",
            "class RobertaForMaskedLMModified(RobertaForMaskedLM):",
        ):
            assert line in source
        # Classes are defined before use.
        assert source.index("class CoolNewEmbeddingMatrix") < source.index("class RobertaEmbeddingsModified")
        assert source.index("class RobertaModelModified") < source.index("class RobertaForMaskedLMModified")
    else:
        assert "class CoolNewEmbeddingMatrix(nn.Module):" in script_file(generated).text
    built = rebuild(generated, traced, roots)
    assert_same_outputs(built, roots["model"], input_ids())
    # The decoder is no longer tied to a word embedding that does not exist, on either transformers.
    assert built.get_output_embeddings() is None
    expected_ties = {"lm_head.decoder.bias": "lm_head.bias"} if TRANSFORMERS_5 else ["lm_head.decoder.bias"]
    assert type(built)._tied_weights_keys == expected_ties
    # The generated class round-trips through transformers' own save/load.
    built.save_pretrained(tmp_path / "generated")
    reloaded = type(built).from_pretrained(tmp_path / "generated").eval()
    assert_same_outputs(reloaded, built, input_ids())


def test_an_embedding_with_a_compatible_weight_keeps_the_tie(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        f"""
        from torch import nn
        from transformers import RobertaConfig, RobertaForMaskedLM

        model = RobertaForMaskedLM(RobertaConfig({TINY}, type_vocab_size=1))
        model.roberta.embeddings.word_embeddings = nn.Embedding(99, 32, padding_idx=1, max_norm=1.0)
        model.tie_weights()
        """,
        mode=mode,
    )
    if mode == "subclass":  # the original's tie declarations are inherited, not overridden
        assert "_tied_weights_keys" not in generated.source
        assert "get_output_embeddings" not in generated.source
    # 99, 32 and 1 were the original embedding's arguments: they render as their source (the statement
    # no longer fits in 119 columns, so it is wrapped as ruff would wrap it).
    assert (
        "        self.word_embeddings = nn.Embedding(\n"
        "            config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id, max_norm=1.0\n"
        "        )\n"
    ) in init_code(generated, "RobertaEmbeddingsModified")
    built = rebuild(generated, traced, roots)
    assert type(built)._tied_weights_keys == RobertaForMaskedLM._tied_weights_keys
    assert built.get_output_embeddings() is built.lm_head.decoder
    assert built.lm_head.decoder.weight is built.roberta.embeddings.word_embeddings.weight


def test_lora_on_query_and_value_of_every_bert_layer_is_one_class(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        f"""
        import torch
        from torch import nn
        from transformers import BertConfig, BertForSequenceClassification


        class LoRALinear(nn.Module):
            def __init__(self, base, r=8, alpha=16):
                super().__init__()
                self.base = base
                self.lora_A = nn.Linear(base.in_features, r, bias=False)
                self.lora_B = nn.Linear(r, base.out_features, bias=False)
                self.scaling = alpha / r

            def forward(self, x):
                return self.base(x) + self.scaling * self.lora_B(self.lora_A(x))


        model = BertForSequenceClassification(BertConfig({TINY}, num_labels=3))
        for layer in model.bert.encoder.layer:
            attention = layer.attention.self
            attention.query = LoRALinear(attention.query, r=4)
            attention.value = LoRALinear(attention.value, r=4)
        """,
        mode=mode,
    )
    attention = "BertSelfAttentionModified" if TRANSFORMERS_5 else "BertSdpaSelfAttentionModified"
    assert sorted(generated.classes) == sorted(
        [
            attention,
            "BertAttentionModified",
            "BertLayerModified",
            "BertEncoderModified",
            "BertModelModified",
            "BertForSequenceClassificationModified",
        ]
    )
    # 4.57's BertSdpaSelfAttention.__init__ leaves query/value to BertSelfAttention.__init__, whose body the
    # generated __init__ inlines: on both versions the statements are rewritten where they are written.
    init = init_code(generated, attention)
    assert "self.query = LoRALinear(nn.Linear(config.hidden_size, self.all_head_size), r=4)" in init
    assert "self.value = LoRALinear(nn.Linear(config.hidden_size, self.all_head_size), r=4)" in init
    assert "self.key = nn.Linear(config.hidden_size, self.all_head_size)" in init
    assert not any("after the original body" in warning for warning in generated.warnings)
    if not TRANSFORMERS_5:
        assert "        super(BertSelfAttention, self).__init__()\n" in init
        assert init.index("self.value = LoRALinear(") < init.index("self.dropout_prob = ")
    assert_same_outputs(rebuild(generated, traced, roots), roots["model"], input_ids())


def test_one_roberta_layer_swapped_for_a_subclass_picks_per_index(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        f"""
        import torch
        from torch import nn
        from transformers import RobertaConfig, RobertaModel
        from transformers.models.roberta.modeling_roberta import RobertaLayer


        class ScaledRobertaLayer(RobertaLayer):
            def __init__(self, config, layer_idx=None, init_scale=0.1):
                super().__init__(config, layer_idx=layer_idx)
                self.layer_scale = nn.Parameter(torch.full((config.hidden_size,), init_scale))


        model = RobertaModel(RobertaConfig({TINY}, type_vocab_size=1))
        model.encoder.layer[1] = ScaledRobertaLayer(model.config, layer_idx=1, init_scale=0.5)
        """,
        mode=mode,
    )
    assert (
        "        self.layer = nn.ModuleList(\n"
        "            [\n"
        "                (\n"
        "                    ScaledRobertaLayer(config, layer_idx=i, init_scale=0.5)\n"
        "                    if i == 1\n"
        "                    else RobertaLayer(config, layer_idx=i)\n"
        "                )\n"
        "                for i in range(config.num_hidden_layers)\n"
        "            ]\n"
        "        )\n"
    ) in init_code(generated, "RobertaEncoderModified")
    assert_same_outputs(rebuild(generated, traced, roots), roots["model"], input_ids())


def test_bert_pooler_set_to_none(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        f"""
        from transformers import BertConfig, BertModel

        model = BertModel(BertConfig({TINY}))
        model.pooler = None
        """,
        mode=mode,
    )
    assert "        self.pooler = None\n" in init_code(generated, "BertModelModified")
    assert list(generated.classes) == ["BertModelModified"]
    built = rebuild(generated, traced, roots)
    assert built.pooler is None
    assert_same_outputs(built, roots["model"], input_ids())


def test_every_llama_rmsnorm_replaced_by_layernorm(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        """
        from torch import nn
        from transformers import LlamaConfig, LlamaForCausalLM
        from transformers.models.llama.modeling_llama import LlamaRMSNorm

        config = LlamaConfig(vocab_size=99, hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
        model = LlamaForCausalLM(config)
        for module in list(model.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, LlamaRMSNorm):
                    setattr(module, name, nn.LayerNorm(child.weight.shape[0], eps=config.rms_norm_eps))
        """,
        mode=mode,
    )
    inits = "".join(init_code(generated, name) for name in generated.classes)
    assert inits.count("nn.LayerNorm(config.hidden_size, eps=config.rms_norm_eps)") == 3
    assert "LlamaRMSNorm" not in inits
    if mode == "subclass":
        assert "LlamaRMSNorm" not in generated.source  # no unused import
    assert sorted(generated.classes) == [
        "LlamaDecoderLayerModified",
        "LlamaForCausalLMModified",
        "LlamaModelModified",
    ]
    assert_same_outputs(rebuild(generated, traced, roots), roots["model"], input_ids())


def test_gpt2_conv1d_c_attn_replaced_by_linear(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        """
        from torch import nn
        from transformers import GPT2Config, GPT2LMHeadModel

        model = GPT2LMHeadModel(GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64))
        for block in model.transformer.h:
            block.attn.c_attn = nn.Linear(32, 96)
        """,
        mode=mode,
    )
    source = init_code(generated, "GPT2AttentionModified")
    assert "            self.c_attn = nn.Linear(self.embed_dim, 3 * self.embed_dim)\n" in source
    # The cross-attention branch did not run: it stays as written.
    assert "            self.c_attn = Conv1D(2 * self.embed_dim, self.embed_dim)\n" in source
    assert_same_outputs(rebuild(generated, traced, roots), roots["model"], input_ids())


def test_plain_pytorch_network_defined_in_the_script(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        """
        import torch
        from torch import nn

        WIDTH = 8


        def gate(x):
            return torch.sigmoid(x)


        class Block(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.fc = nn.Linear(width, width)
                self.act = nn.ReLU()

            def forward(self, x):
                return self.act(self.fc(x))


        class Net(nn.Module):
            def __init__(self, width=WIDTH, depth=3):
                super().__init__()
                self.blocks = nn.Sequential(*[Block(width) for _ in range(depth)])
                self.head = nn.Linear(width, 2)

            def forward(self, x):
                return self.head(self.blocks(x))


        class GatedHead(nn.Module):
            def __init__(self, width, classes):
                super().__init__()
                self.gate = nn.Linear(width, width)
                self.out = nn.Linear(width, classes)

            def forward(self, x):
                return self.out(gate(self.gate(x)) * x)


        net = Net(width=WIDTH)
        net.head = GatedHead(WIDTH, 2)
        net.blocks[1].act = nn.GELU()
        """,
        mode=mode,
    )
    # The script's definitions are copied verbatim with what they use (WIDTH, gate), nothing else. Vendor mode
    # renames Net in place (its only instance is modified) and keeps Block beside BlockModified (two of the three
    # blocks keep the original).
    source = generated.source if mode == "subclass" else script_file(generated).text
    for definition in ("WIDTH = 8", "def gate(x):", "class Block(nn.Module):", "class GatedHead(nn.Module):"):
        assert definition in source
    assert ("class Net(nn.Module):" in source) == (mode == "subclass")
    assert "net = Net" not in source
    init = init_code(generated, "NetModified")
    assert (
        "self.blocks = nn.Sequential(*[BlockModified(width) if index == 1 else Block(width) for index in range(depth)])"
        in init
    )
    assert "self.head = GatedHead(width, 2)" in init
    inputs = torch.randn(3, 8)
    assert_same_outputs(rebuild(generated, traced, roots, "net"), roots["net"], inputs)


class CoolNewEmbeddingMatrix(nn.Module):
    """The seed's replacement embedding, importable from this test module."""

    def __init__(self, config, bottleneck_size: int = 128):
        super().__init__()
        self.lookup = nn.Embedding(config.vocab_size, bottleneck_size)
        self.up_projection = nn.Linear(bottleneck_size, config.hidden_size, bias=False)

    def forward(self, input_ids):
        return self.up_projection(self.lookup(input_ids))


def tiny_roberta_config() -> RobertaConfig:
    return RobertaConfig(**eval(f"dict({TINY})"), type_vocab_size=1)


def test_print_difference_prints_runnable_code_for_the_seed_example(capsys):
    with trace():
        model = RobertaForMaskedLM(tiny_roberta_config())
        model.roberta.embeddings.word_embeddings = CoolNewEmbeddingMatrix(model.config, bottleneck_size=16)
        printDifference(model, RobertaForMaskedLM)
    printed = capsys.readouterr().out
    assert f"from {__name__} import CoolNewEmbeddingMatrix" in printed
    with load_generated(printed) as namespace:
        built = namespace.RobertaForMaskedLMModified(model.config)
    built.load_state_dict(model.state_dict(), strict=True)
    assert_same_outputs(built.eval(), model, input_ids())


def test_declare_without_trace_infers_builtin_replacements_from_a_meta_reference(mode):
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=99,
        hidden_size=32,
        intermediate_size=37,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    model = LlamaForCausalLM(config)
    model.model.norm = nn.LayerNorm(32, eps=1e-6)
    model.model.layers[0].mlp.down_proj = nn.Linear(37, 32, bias=True)
    inferred = infer_trace(model)
    generated = generate(inferred, {"model": model}, mode=mode)
    verify(generated, inferred, {"model": model})
    if mode == "subclass":  # declare() is this generation, verified
        assert declare(model) == generated.source
    # RMSNorm keeps no attribute named after its `hidden_size` argument: 32 stays a literal.
    assert "self.norm = nn.LayerNorm(32, eps=1e-06)" in init_code(generated, "LlamaModelModified")
    down_proj = init_code(generated, "LlamaMLPModified")
    assert "self.down_proj = nn.Linear(self.intermediate_size, self.hidden_size, bias=True)" not in down_proj
    assert "self.down_proj = nn.Linear(self.intermediate_size, self.hidden_size)" in down_proj
    with imported_root(generated, "model") as root_class:
        built = root_class(config)
    built.load_state_dict(model.state_dict(), strict=True)
    assert_same_outputs(built.eval(), model, input_ids())


def test_declare_without_trace_refuses_classes_it_cannot_rebuild():
    model = RobertaForMaskedLM(tiny_roberta_config())
    model.roberta.embeddings.word_embeddings = CoolNewEmbeddingMatrix(model.config)
    with pytest.raises(DeclarationError, match=r"python -m archit_codemod") as error:
        declare(model)
    assert "roberta.embeddings.word_embeddings" in str(error.value)
    assert "CoolNewEmbeddingMatrix" in str(error.value)


@pytest.mark.parametrize("suffix", ["V2"])
def test_suffix_names_the_generated_classes(tmp_path, suffix, mode):
    script = tmp_path / "modify.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from transformers import BertConfig, BertModel

            model = BertModel(BertConfig({TINY}))
            model.pooler = None
            """
        )
    )
    traced = run_script(script, [])
    generated = generate(traced, find_roots(traced), suffix=suffix, mode=mode)
    assert generated.root_classes == {"model": "BertModelV2"}
    assert "class BertModelV2(" in class_code(generated, "BertModelV2")
    with pytest.raises(DeclarationError, match="suffix"):
        generate(traced, find_roots(traced), suffix="not valid", mode=mode)


# --- one module among several of its class (a vendored file then keeps the original class) -------------------


def test_the_dropout_of_one_bert_layer_replaced(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        f"""
        from torch import nn
        from transformers import BertConfig, BertModel

        model = BertModel(BertConfig({TINY}))
        model.encoder.layer[1].output.dropout = nn.Identity()
        """,
        mode=mode,
    )
    assert sorted(generated.classes) == [
        "BertEncoderModified",
        "BertLayerModified",
        "BertModelModified",
        "BertOutputModified",
    ]
    assert (
        "BertLayerModified(config, layer_idx=i) if i == 1 else BertLayer(config, layer_idx=i)"
        in init_code(generated, "BertEncoderModified")
    )
    built = rebuild(generated, traced, roots)
    assert [type(layer.output.dropout).__name__ for layer in built.encoder.layer] == ["Dropout", "Identity"]
    assert [type(layer).__name__ for layer in built.encoder.layer] == ["BertLayer", "BertLayerModified"]
    assert_same_outputs(built, roots["model"], input_ids())


BART = """
from torch import nn
from transformers import BartConfig, BartModel

config = BartConfig(
    vocab_size=99, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
    decoder_attention_heads=4, encoder_ffn_dim=37, decoder_ffn_dim=37, max_position_embeddings=64,
)
model = BartModel(config)
model.decoder.layers[0].self_attn.q_proj = nn.Linear(32, 32, bias=False)
"""


def test_one_attention_of_the_bart_decoder_changed_leaves_the_others_alone(tmp_path, mode):
    generated, traced, roots = run(tmp_path, BART, mode=mode)
    assert "BartAttentionModified" in generated.classes
    assert "self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)" in init_code(
        generated, "BartAttentionModified"
    )
    original = roots["model"].eval()
    with imported_root(generated, "model") as root_class:  # set_attn_implementation reads the class's module
        built = root_class(original.config).eval()
        built.load_state_dict(original.state_dict(), strict=True)
        built.set_attn_implementation("eager")
    attentions = {
        path: type(module).__name__ for path, module in built.named_modules() if path.endswith("attn")
    }
    assert attentions == {
        "encoder.layers.0.self_attn": "BartAttention",
        "decoder.layers.0.self_attn": "BartAttentionModified",
        "decoder.layers.0.encoder_attn": "BartAttention",
    }
    original.set_attn_implementation("eager")
    assert_same_outputs(built, original, input_ids())
    # transformers collects attentions by class (`OutputRecorder(BartAttention, ...)`): the changed one counts too.
    with torch.no_grad():
        expected, got = (
            original(input_ids(), output_attentions=True),
            built(input_ids(), output_attentions=True),
        )
    for name in ("encoder_attentions", "decoder_attentions", "cross_attentions"):
        assert len(getattr(got, name)) == len(getattr(expected, name)) == 1, name
        torch.testing.assert_close(getattr(got, name)[0], getattr(expected, name)[0])


def test_one_attention_of_the_t5_decoder_changed(tmp_path, mode):
    generated, traced, roots = run(
        tmp_path,
        """
        from torch import nn
        from transformers import T5Config, T5Model

        config = T5Config(vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=1, num_decoder_layers=1, num_heads=4)
        model = T5Model(config)
        model.decoder.block[0].layer[0].SelfAttention.q = nn.Linear(32, 32, bias=True)
        """,
        mode=mode,
    )
    built = rebuild(generated, traced, roots)
    queries = {
        path: type(module).__name__ for path, module in built.named_modules() if path.endswith("Attention")
    }
    assert queries == {
        "encoder.block.0.layer.0.SelfAttention": "T5Attention",
        "decoder.block.0.layer.0.SelfAttention": "T5AttentionModified",
        "decoder.block.0.layer.1.EncDecAttention": "T5Attention",
    }
    assert built.decoder.block[0].layer[0].SelfAttention.q.bias is not None
    ids = input_ids()
    with torch.no_grad():
        expected = roots["model"].eval()(input_ids=ids, decoder_input_ids=ids).last_hidden_state
        got = built(input_ids=ids, decoder_input_ids=ids).last_hidden_state
    torch.testing.assert_close(got, expected)
