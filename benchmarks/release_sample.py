"""The architecture sample: LoRA on the attention of ~30 of the most used architectures, both modes, on ``meta``.

Run it first thing against a transformers release the day it appears (about ten minutes on two cores): the
change people make most, on the models they make it on, built from each architecture's default config. It is a
slice of the zoo (``benchmarks/sweep_architectures.py``): the ``lora`` kind (a LoRA-style wrapper on every
attention query or fused query/key/value projection) on the classes below, with the zoo's cells and report.

Usage (from the repository root)::

    .venv/bin/python benchmarks/release_sample.py --out docs/release-sample.md
    .venv/bin/python benchmarks/release_sample.py --jobs 2 --kinds lora,norms
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sweep_architectures  # noqa: E402

SAMPLE = (
    # encoders
    "BertForMaskedLM",
    "RobertaForMaskedLM",
    "DistilBertForMaskedLM",
    "XLMRobertaForMaskedLM",
    "DebertaV2ForMaskedLM",
    "AlbertForMaskedLM",
    "ElectraForMaskedLM",
    "MPNetForMaskedLM",
    "ModernBertForMaskedLM",
    # decoders
    "GPT2LMHeadModel",
    "LlamaForCausalLM",
    "MistralForCausalLM",
    "MixtralForCausalLM",
    "Qwen2ForCausalLM",
    "Qwen2MoeForCausalLM",
    "Qwen3ForCausalLM",
    "Qwen3MoeForCausalLM",
    "GemmaForCausalLM",
    "Gemma2ForCausalLM",
    "Gemma3ForCausalLM",
    "PhiForCausalLM",
    "Phi3ForCausalLM",
    "FalconForCausalLM",
    "GPTNeoXForCausalLM",
    "OPTForCausalLM",
    "GraniteForCausalLM",
    "Olmo2ForCausalLM",
    "DeepseekV3ForCausalLM",
    # encoder-decoders, speech, vision
    "T5ForConditionalGeneration",
    "BartForConditionalGeneration",
    "WhisperForConditionalGeneration",
    "Wav2Vec2ForSequenceClassification",
    "ViTForImageClassification",
    "CLIPModel",
)


def main(argv: list[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not any(argument.startswith("--kinds") for argument in arguments):
        arguments += ["--kinds", "lora"]
    if not any(argument.startswith("--jobs") for argument in arguments):
        arguments += ["--jobs", "2"]
    return sweep_architectures.main(["--only", ",".join(SAMPLE), *arguments])


if __name__ == "__main__":
    sys.exit(main())
