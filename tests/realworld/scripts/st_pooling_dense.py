"""A sentence-transformers model (local checkpoint, mean pooling) switched to max pooling by replacing its
``Pooling`` module, with a ``Dense`` projection to 16 dimensions appended."""

import atexit
import shutil
import tempfile
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Dense, Pooling, Transformer
from torch import nn
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
model = SentenceTransformer(modules=[transformer, Pooling(32, pooling_mode="mean")], device="cpu")

model[1] = Pooling(transformer.get_embedding_dimension(), pooling_mode="max")
model.append(Dense(in_features=32, out_features=16, activation_function=nn.Tanh()))

example_inputs = {"input": dict(model.preprocess(["w1 w2 w3", "w4 w5"]))}
