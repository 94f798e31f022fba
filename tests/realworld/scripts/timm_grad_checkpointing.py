"""timm: gradient checkpointing switched on (`set_grad_checkpointing()`), as timm's train script does with
`--grad-checkpointing`; training state, not architecture."""

import timm
import torch

torch.manual_seed(0)
model = timm.create_model(
    "vit_tiny_patch16_224",
    pretrained=False,
    img_size=32,
    patch_size=8,
    embed_dim=32,
    depth=2,
    num_heads=2,
    num_classes=10,
)
model.set_grad_checkpointing(True)

example_inputs = {"x": torch.randn(2, 3, 32, 32)}
