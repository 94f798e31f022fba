"""open_clip: CLIP-Adapter (a residual bottleneck MLP after the image encoder), the vision tower wrapped by a
module of the script's own."""

import open_clip
import torch
from torch import nn


class VisualWithAdapter(nn.Module):
    def __init__(self, visual: nn.Module, dim: int, reduction: int = 4, ratio: float = 0.2):
        super().__init__()
        self.visual = visual
        self.adapter = nn.Sequential(
            nn.Linear(dim, dim // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(dim // reduction, dim, bias=False),
            nn.ReLU(inplace=True),
        )
        self.ratio = ratio
        self.output_dim = getattr(visual, "output_dim", dim)

    def forward(self, image):
        features = self.visual(image)
        return self.ratio * self.adapter(features) + (1 - self.ratio) * features


torch.manual_seed(0)
model = open_clip.CLIP(
    embed_dim=16,
    vision_cfg={"layers": 2, "width": 32, "head_width": 16, "patch_size": 8, "image_size": 32},
    text_cfg={"context_length": 16, "vocab_size": 99, "width": 32, "heads": 2, "layers": 2},
)
model.visual = VisualWithAdapter(model.visual, dim=16)

example_inputs = {"image": torch.randn(2, 3, 32, 32), "text": torch.randint(0, 99, (2, 16))}
