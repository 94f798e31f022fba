"""PEFT FourierFT (spectral coefficients at random frequencies) on a RoBERTa classifier's query and value."""

import torch
from peft import FourierFTConfig, get_peft_model
from transformers import RobertaConfig, RobertaForSequenceClassification

torch.manual_seed(0)
config = RobertaConfig(
    vocab_size=99,
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    num_labels=2,
)
model = RobertaForSequenceClassification(config)

fourier_config = FourierFTConfig(
    n_frequency=50, scaling=100.0, target_modules=["query", "value"], modules_to_save=["classifier"]
)
peft_model = get_peft_model(model, fourier_config)
