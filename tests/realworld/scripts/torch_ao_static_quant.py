"""torch.ao eager-mode static quantization: QuantStub/DeQuantStub, `prepare`, calibration, `convert`."""

import torch
from torch import nn
from torch.ao import quantization


class QuantizableMLP(nn.Module):
    def __init__(self, features: int = 16, hidden: int = 32, classes: int = 4):
        super().__init__()
        self.quant = quantization.QuantStub()
        self.fc1 = nn.Linear(features, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, classes)
        self.dequant = quantization.DeQuantStub()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dequant(self.fc2(self.relu(self.fc1(self.quant(x)))))


torch.manual_seed(0)
model = QuantizableMLP(features=16)
model.eval()
model.qconfig = quantization.get_default_qconfig("fbgemm")
quantization.prepare(model, inplace=True)
model(torch.randn(8, 16))
quantization.convert(model, inplace=True)

example_inputs = {"x": torch.randn(3, 16)}
