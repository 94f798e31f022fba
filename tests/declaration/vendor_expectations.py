"""What vendoring each example must change, written by hand from reading the original transformers files.

For each example: the modeling file that is copied (``None`` when only the script's own classes are vendored), the
classes renamed in place (every reference follows), the ``self.<attribute>`` assignments of ``__init__`` that are
rewritten (at least one assignment of each must change), the class members replaced or added, the classes whose
``__init__`` gets an ancestor's body inlined, and the classes of the file of the script's definitions. Nothing else
of the original file may differ, except the header and imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import transformers

IS_457 = int(transformers.__version__.split(".")[0]) < 5


@dataclass(frozen=True)
class Vendored:
    modeling: str | None
    renamed: frozenset[str] = frozenset()
    rewritten: frozenset[tuple[str, str]] = frozenset()
    members: frozenset[tuple[str, str]] = frozenset()
    inlined_inits: frozenset[str] = frozenset()
    script_classes: frozenset[str] = field(default_factory=frozenset)
    """Classes of the file of the script's definitions (named ``<example>.py``); empty when there is none."""

    def files(self, stem: str) -> list[str]:
        names = [self.modeling] if self.modeling else []
        return sorted([*names, f"{stem}.py"] if self.script_classes else names)


# transformers 4.57 builds BertSdpaSelfAttention, 5.x BertSelfAttention.
_BERT_ATTENTION = "BertSdpaSelfAttention" if IS_457 else "BertSelfAttention"

EXPECTED = {
    "roberta_word_embeddings": Vendored(
        "modeling_roberta.py",
        renamed=frozenset({"RobertaEmbeddings", "RobertaModel", "RobertaForMaskedLM"}),
        rewritten=frozenset(
            {
                ("RobertaEmbeddings", "word_embeddings"),
                ("RobertaModel", "embeddings"),
                ("RobertaForMaskedLM", "roberta"),
            }
        ),
        # The replaced word embeddings no longer tie to the decoder.
        members=frozenset(
            {("RobertaForMaskedLM", "_tied_weights_keys"), ("RobertaForMaskedLM", "get_output_embeddings")}
        ),
        script_classes=frozenset({"CoolNewEmbeddingMatrix"}),
    ),
    "bert_lora": Vendored(
        "modeling_bert.py",
        renamed=frozenset(
            {
                _BERT_ATTENTION,
                "BertAttention",
                "BertLayer",
                "BertEncoder",
                "BertModel",
                "BertForSequenceClassification",
            }
        ),
        # 5.x builds `self.self = attention_class(...)`: the class changes where `attention_class` is chosen (a
        # renamed name) and that assignment stays; 4.57 picks the class from a dict in the assignment itself, which
        # then builds the generated class directly.
        rewritten=frozenset(
            (
                {("BertAttention", "self")}
                if IS_457
                else {("BertSelfAttention", "query"), ("BertSelfAttention", "value")}
            )
            | {
                ("BertLayer", "attention"),
                ("BertEncoder", "layer"),
                ("BertModel", "encoder"),
                ("BertForSequenceClassification", "bert"),
            }
        ),
        # 4.57's BertSdpaSelfAttention.__init__ only calls BertSelfAttention's: the codemod inlines that one.
        inlined_inits=frozenset({"BertSdpaSelfAttention"} if IS_457 else set()),
        script_classes=frozenset({"LoRALinear"}),
    ),
    "roberta_swap_layer": Vendored(
        "modeling_roberta.py",
        renamed=frozenset({"RobertaEncoder", "RobertaModel", "RobertaForSequenceClassification"}),
        rewritten=frozenset(
            {
                ("RobertaEncoder", "layer"),
                ("RobertaModel", "encoder"),
                ("RobertaForSequenceClassification", "roberta"),
            }
        ),
        # ScaledRobertaLayer subclasses RobertaLayer: device_map must not split it either.
        members=frozenset({("RobertaModel", "_no_split_modules")}),
        script_classes=frozenset({"ScaledRobertaLayer"}),
    ),
    "bert_pooler_none": Vendored(
        "modeling_bert.py",
        renamed=frozenset({"BertModel"}),
        rewritten=frozenset({("BertModel", "pooler")}),
    ),
    "llama_layernorm": Vendored(
        "modeling_llama.py",
        renamed=frozenset({"LlamaDecoderLayer", "LlamaModel", "LlamaForCausalLM"}),
        rewritten=frozenset(
            {
                ("LlamaDecoderLayer", "input_layernorm"),
                ("LlamaDecoderLayer", "post_attention_layernorm"),
                ("LlamaModel", "layers"),
                ("LlamaModel", "norm"),
                ("LlamaForCausalLM", "model"),
            }
        ),
    ),
    "gpt2_linear": Vendored(
        "modeling_gpt2.py",
        renamed=frozenset({"GPT2Attention", "GPT2MLP", "GPT2Block", "GPT2Model", "GPT2LMHeadModel"}),
        # GPT2Attention assigns c_attn in two branches; the cross-attention one did not run and stays as written.
        rewritten=frozenset(
            {
                ("GPT2Attention", "c_attn"),
                ("GPT2Attention", "c_proj"),
                ("GPT2MLP", "c_fc"),
                ("GPT2MLP", "c_proj"),
                ("GPT2Block", "attn"),
                ("GPT2Block", "mlp"),
                ("GPT2Model", "h"),
                ("GPT2LMHeadModel", "transformer"),
            }
        ),
    ),
    "plain_torch_network": Vendored(
        None,
        # Every instance of each class changed the same way: all three are renamed in place.
        renamed=frozenset({"FeedForward", "Block", "TinyNetwork"}),
        rewritten=frozenset(
            {
                ("FeedForward", "layers"),
                ("Block", "feed_forward"),
                ("TinyNetwork", "blocks"),
                ("TinyNetwork", "classifier"),
            }
        ),
        script_classes=frozenset({"FeedForwardModified", "BlockModified", "TinyNetworkModified"}),
    ),
    "llama_7b_meta": Vendored(
        "modeling_llama.py",
        renamed=frozenset({"LlamaAttention", "LlamaDecoderLayer", "LlamaModel", "LlamaForCausalLM"}),
        rewritten=frozenset(
            {
                ("LlamaAttention", "q_proj"),
                ("LlamaAttention", "v_proj"),
                ("LlamaDecoderLayer", "self_attn"),
                ("LlamaModel", "layers"),
                ("LlamaForCausalLM", "model"),
            }
        ),
        script_classes=frozenset({"LoRALinear"}),
    ),
}
