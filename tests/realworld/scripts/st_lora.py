"""A sentence-transformers model (local checkpoint, CLS pooling) whose encoder gets PEFT LoRA in place."""

import atexit
import shutil
import tempfile
from pathlib import Path

import torch
from peft import LoraConfig, TaskType, get_peft_model
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
from transformers import BertConfig, BertModel, BertTokenizer

# A tiny local checkpoint, as if it had been downloaded before.
checkpoint = Path(tempfile.mkdtemp(prefix="tiny_bert_"))
atexit.register(shutil.rmtree, checkpoint, ignore_errors=True)
vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(94)]
(checkpoint / "vocab.txt").write_text("\n".join(vocabulary) + "\n", encoding="utf-8")
BertTokenizer(str(checkpoint / "vocab.txt")).save_pretrained(checkpoint)
torch.manual_seed(0)
config = BertConfig(
    vocab_size=len(vocabulary),
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
)
BertModel(config).save_pretrained(checkpoint)

transformer = Transformer(str(checkpoint))
pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")
model = SentenceTransformer(modules=[transformer, pooling], device="cpu")

lora_config = LoraConfig(
    task_type=TaskType.FEATURE_EXTRACTION, r=4, lora_alpha=8, target_modules=["query", "value"]
)
peft_encoder = get_peft_model(transformer.auto_model, lora_config)

example_inputs = {"input": dict(model.preprocess(["w1 w2 w3", "w4 w5"]))}
