"""AdapterHub ``adapters``: a LoRA adapter on a BERT model, activated for inference."""

import adapters
import torch
from adapters import LoRAConfig
from transformers import BertConfig, BertModel

torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)

adapters.init(model)
model.add_adapter("lora", config=LoRAConfig(r=4, alpha=8, init_weights="bert"))
model.set_active_adapters("lora")
