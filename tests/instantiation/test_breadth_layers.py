"""The plain-torch parser layers, and that no module of the package needs supar."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from archit_codemod.instantiation.layers import MLP, Biaffine, ScalarMix, SharedDropout

REPOSITORY = Path(__file__).resolve().parents[2]


def test_biaffine_matches_the_bilinear_form_written_out_by_hand():
    scorer = Biaffine(n_in=2, n_out=1, bias_x=True, bias_y=False)
    # W is (n_in + 1) x n_in: the extra row multiplies the constant 1 appended to x.
    weight = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]])
    with torch.no_grad():
        scorer.weight.copy_(weight)
    x = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]])  # 1 x 2 positions x 2
    y = torch.tensor([[[1.0, 1.0], [2.0, -1.0]]])
    scores = scorer(x, y)
    # s[i, j] = sum_ab [x_i; 1]_a W_ab y_jb, expanded term by term.
    expected = torch.empty(1, 2, 2)
    for i in range(2):
        for j in range(2):
            x1 = [x[0, i, 0].item(), x[0, i, 1].item(), 1.0]
            expected[0, i, j] = sum(
                x1[a] * weight[0, a, b].item() * y[0, j, b].item() for a in range(3) for b in range(2)
            )
    # Position 0 = [1, 0, 1] picks rows 0 and 2 of W: [6, 8]; dotted with y_0 = [1, 1] gives 14.
    assert expected[0, 0, 0].item() == 14.0
    assert scores.shape == (1, 2, 2)
    assert torch.equal(scores, expected)


def test_biaffine_with_several_outputs_and_scaling():
    torch.manual_seed(0)
    scorer = Biaffine(n_in=4, n_out=3, scale=1, bias_x=True, bias_y=True)
    with torch.no_grad():
        scorer.weight.normal_()
    x, y = torch.randn(2, 5, 4), torch.randn(2, 6, 4)
    scores = scorer(x, y)
    assert scores.shape == (2, 3, 5, 6)
    ones = torch.ones(2, 5, 1), torch.ones(2, 6, 1)
    x1, y1 = torch.cat((x, ones[0]), -1), torch.cat((y, ones[1]), -1)
    expected = torch.stack([x1 @ scorer.weight[o] @ y1.transpose(1, 2) for o in range(3)], dim=1) / 4
    torch.testing.assert_close(scores, expected)


def test_biaffine_starts_at_zero_so_every_arc_scores_the_same():
    scores = Biaffine(n_in=3)(torch.randn(1, 4, 3), torch.randn(1, 4, 3))
    assert torch.equal(scores, torch.zeros(1, 4, 4))


def test_mlp_is_linear_then_leaky_relu_with_slope_one_tenth():
    mlp = MLP(n_in=2, n_out=2, dropout=0.5).eval()
    with torch.no_grad():
        mlp.linear.weight.copy_(torch.eye(2))
        mlp.linear.bias.zero_()
    assert torch.equal(mlp(torch.tensor([[[3.0, -2.0]]])), torch.tensor([[[3.0, -0.2]]]))


def test_shared_dropout_drops_the_same_features_at_every_position():
    torch.manual_seed(0)
    dropout = SharedDropout(p=0.5).train()
    out = dropout(torch.ones(3, 10, 16))
    assert set(out.unique().tolist()) == {0.0, 2.0}
    assert torch.equal(out, out[:, :1].expand_as(out))  # every position equals the first one
    assert not torch.equal(out[0], out[1])  # but examples differ


def test_scalar_mix_is_the_mean_at_first_and_follows_its_softmax_weights():
    mix = ScalarMix(3)
    tensors = [torch.full((2, 2), value) for value in (1.0, 2.0, 6.0)]
    assert torch.equal(mix(tensors), torch.full((2, 2), 3.0))
    with torch.no_grad():
        mix.weights.copy_(torch.tensor([0.0, 0.0, 1000.0]))  # softmax puts all mass on the last layer
        mix.gamma.fill_(0.5)
    assert torch.equal(mix(tensors), torch.full((2, 2), 3.0))
    with pytest.raises(ValueError, match="3 tensors but received 2"):
        mix(tensors[:2])


def test_no_module_of_the_package_imports_supar():
    """Every module imports with supar made unimportable (``sys.modules['supar'] = None``)."""
    script = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        sys.modules["supar"] = None  # any `import supar` now raises ImportError
        import archit_codemod
        names = [m.name for m in pkgutil.walk_packages(archit_codemod.__path__, "archit_codemod.")]
        for name in names:
            if name.endswith("__main__"):
                continue  # running it would start the command line
            importlib.import_module(name)
        assert "archit_codemod.instantiation.layers" in names, names
        print(len(names))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) >= 2
