"""A `nethook.Trace` copied into a research repository (as ROME and baukit users do) left open on a BERT
layer's feed-forward output with an `edit_output` function that ablates the first hidden units: the forward
hook is a bound method of the tracer object."""

import torch
from transformers import BertConfig, BertModel


class Trace:
    """Retains (and optionally edits) the output of one module, as baukit's nethook.Trace does."""

    def __init__(self, module, retain_output=True, edit_output=None):
        self.module = module
        self.retain_output = retain_output
        self.edit_output = edit_output
        self.output = None
        self.handle = module.register_forward_hook(self.hook)

    def hook(self, module, inputs, output):
        if self.edit_output is not None:
            output = self.edit_output(output)
        if self.retain_output:
            self.output = output.detach()
        return output

    def close(self):
        self.handle.remove()


def ablate_first_units(output):
    output = output.clone()
    output[..., :8] = 0
    return output


torch.manual_seed(0)
config = BertConfig(
    vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
)
model = BertModel(config)
trace = Trace(model.encoder.layer[0].output.dense, edit_output=ablate_first_units)

example_inputs = {"input_ids": torch.tensor([[1, 5, 7, 9, 2]])}
