"""PEFT prefix tuning on a GPT-2 causal LM: the virtual tokens live in the ``PeftModel`` wrapper (its
``prompt_encoder``), not in the model."""

import torch
from peft import PrefixTuningConfig, TaskType, get_peft_model
from transformers import GPT2Config, GPT2LMHeadModel

torch.manual_seed(0)
config = GPT2Config(vocab_size=99, n_embd=32, n_layer=2, n_head=4, n_positions=64)
model = GPT2LMHeadModel(config)

peft_model = get_peft_model(model, PrefixTuningConfig(task_type=TaskType.CAUSAL_LM, num_virtual_tokens=4))
