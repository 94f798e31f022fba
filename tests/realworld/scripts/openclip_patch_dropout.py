"""open_clip: FLIP-style patch dropout switched on in a CLIP's vision tower after creation
(`visual.patch_dropout = PatchDropout(0.5)`)."""

import open_clip
import torch
from open_clip.transformer import PatchDropout

torch.manual_seed(0)
model = open_clip.CLIP(
    embed_dim=16,
    vision_cfg={"layers": 2, "width": 32, "head_width": 16, "patch_size": 8, "image_size": 32},
    text_cfg={"context_length": 16, "vocab_size": 99, "width": 32, "heads": 2, "layers": 2},
)
model.visual.patch_dropout = PatchDropout(0.5)

example_inputs = {"image": torch.randn(2, 3, 32, 32), "text": torch.randint(0, 99, (2, 16))}
