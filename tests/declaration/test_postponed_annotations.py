"""A generated module imports when the code it copies was written with ``from __future__ import annotations``.

diffusers' ``attention_processor.py`` postpones its annotations, and ``Attention.__init__`` is declared with
``processor: "AttnProcessor" | None = None``, which fails when evaluated (``str | None``). A change inside an
``Attention`` (a low-rank query around the original projection, as VAE fine-tuning scripts add) copies that
signature: the subclass module postpones its annotations too, as the file it copies from does; a vendored copy keeps
the file's own import.
"""

from __future__ import annotations

import torch
from output_support import declared, rebuilt_root

from archit_codemod.declaration.api import generate
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import build_root, load_output
from archit_codemod.declaration.tracing.tracer import run_script

VAE_LOW_RANK_QUERY = """
import torch
from diffusers import AutoencoderKL
from torch import nn


class LowRankQuery(nn.Module):
    def __init__(self, base: nn.Linear, rank: int = 2):
        super().__init__()
        self.base = base
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)

    def forward(self, x):
        return self.base(x) + self.up(self.down(x))


torch.manual_seed(0)
model = AutoencoderKL(
    block_out_channels=(8, 16),
    down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
    up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
    latent_channels=2,
    norm_num_groups=4,
    layers_per_block=1,
    sample_size=16,
).eval()
attention = model.encoder.mid_block.attentions[0]
attention.to_q = LowRankQuery(attention.to_q, rank=2)
"""


def _same_outputs(rebuilt: torch.nn.Module, traced: torch.nn.Module) -> bool:
    rebuilt.load_state_dict(traced.state_dict(), strict=True)
    rebuilt.eval()
    sample = torch.randn(1, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return torch.equal(rebuilt(sample).sample, traced(sample).sample)


def test_a_subclass_of_a_class_whose_file_postpones_annotations_postpones_them_too(scripts):
    trace, roots, output = declared(scripts("vae_low_rank_query.py", VAE_LOW_RANK_QUERY), "subclass")

    [file] = output.files
    assert 'processor: "AttnProcessor" | None = None' in file.text
    first_statement = next(line for line in file.text.splitlines() if line and not line.startswith("#"))
    assert first_statement == "from __future__ import annotations"
    with rebuilt_root(output, trace, roots["model"]) as rebuilt:
        assert type(rebuilt.encoder.mid_block.attentions[0].to_q).__name__ == "LowRankQuery"
        assert _same_outputs(rebuilt, roots["model"])


def test_a_vendored_copy_of_a_file_that_postpones_annotations_keeps_its_import(scripts):
    trace = run_script(scripts("vae_low_rank_query_vendored.py", VAE_LOW_RANK_QUERY))
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode="vendor")

    [vendored] = [file for file in output.files if file.name == "attention_processor.py"]
    assert "from __future__ import annotations" in vendored.text
    with load_output(output) as package:
        module, class_name = output.roots["model"]
        rebuilt = build_root(package.module(module), class_name, roots["model"], trace)
        assert type(rebuilt.encoder.mid_block.attentions[0].to_q).__name__ == "LowRankQuery"
        assert _same_outputs(rebuilt, roots["model"])
