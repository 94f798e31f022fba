"""A sentence-transformers model (local checkpoint, CLS pooling) whose transformer keeps its first layer only,
with a `Normalize` module appended."""

import atexit
import shutil
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
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

transformer = Transformer(str(checkpoint), max_seq_length=32)
pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="cls")
model = SentenceTransformer(modules=[transformer, pooling], device="cpu")

encoder = model[0].auto_model.encoder
encoder.layer = encoder.layer[:1]
model.append(Normalize())

example_inputs = {"input": dict(model.preprocess(["w1 w2 w3", "w4 w5"]))}
