"""PEFT LoRA on a T5 model, the user keeping the unwrapped model (`get_peft_model(...).base_model.model`)."""

import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import T5Config, T5ForConditionalGeneration

torch.manual_seed(0)
config = T5Config(
    vocab_size=99,
    d_model=32,
    d_kv=8,
    d_ff=37,
    num_layers=2,
    num_heads=4,
    decoder_start_token_id=0,
)
t5 = T5ForConditionalGeneration(config)

lora_config = LoraConfig(task_type=TaskType.SEQ_2_SEQ_LM, r=4, lora_alpha=8, target_modules=["q", "v"])
model = get_peft_model(t5, lora_config).base_model.model

example_inputs = {"input_ids": torch.tensor([[5, 6, 7, 1]]), "decoder_input_ids": torch.tensor([[0, 5, 6]])}
