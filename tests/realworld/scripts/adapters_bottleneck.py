"""AdapterHub ``adapters``: a sequential bottleneck adapter added to a BERT classifier and made trainable."""

import adapters
import torch
from adapters import SeqBnConfig
from transformers import BertConfig, BertForSequenceClassification

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=3,
)
model = BertForSequenceClassification(config)

adapters.init(model)
model.add_adapter("sentiment", config=SeqBnConfig(reduction_factor=4))
model.train_adapter("sentiment")
