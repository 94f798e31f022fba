"""torch.compile of a ModelWithHead runs and computes what eager mode computes.

``aot_eager`` traces the model through Dynamo and AOTAutograd (graph capture, functionalisation, the
backward graph) without generating code, so it is quick; one test also runs the default ``inductor``
backend, which generates and compiles C++ for the CPU.
"""

from __future__ import annotations

import pytest
import torch
from ecosystem_support import batch_of, masked_lm, masked_lm_examples, token_classifier, token_examples

MODELS = {
    "roberta-token-classification": (token_classifier, token_examples),
    "bert-masked-lm": (masked_lm, masked_lm_examples),
}


@pytest.fixture(autouse=True)
def fresh_dynamo():
    """Each test compiles from scratch (no graph cached by an earlier test), and leaves no cache behind."""
    torch.compiler.reset()
    yield
    torch.compiler.reset()


@pytest.mark.parametrize("name", sorted(MODELS))
def test_compiled_forward_matches_eager(name):
    build, examples_of = MODELS[name]
    model = build(seed=0).eval()
    batch = batch_of(examples_of(4))
    with torch.no_grad():
        eager = model(**batch)
        # fullgraph: a graph break (Python code Dynamo cannot trace) would be an error, not a slowdown.
        compiled = torch.compile(model, backend="aot_eager", fullgraph=True)(**batch)
    assert compiled.logits.shape == eager.logits.shape
    torch.testing.assert_close(compiled.logits, eager.logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(compiled.loss, eager.loss, rtol=1e-5, atol=1e-5)


def test_compiled_training_step_matches_eager():
    """Gradients through the compiled graph (AOTAutograd's backward) equal eager gradients.

    In eval mode: dropout masks drawn inside a compiled graph differ from eager ones.
    """
    batch = batch_of(token_examples(4))
    eager_model, compiled_model = token_classifier(seed=0).eval(), token_classifier(seed=0).eval()
    eager_model(**batch).loss.backward()
    torch.compile(compiled_model, backend="aot_eager", fullgraph=True)(**batch).loss.backward()
    eager_gradients = dict(eager_model.named_parameters())
    for name, parameter in compiled_model.named_parameters():
        assert parameter.grad is not None, name
        torch.testing.assert_close(parameter.grad, eager_gradients[name].grad, rtol=1e-4, atol=1e-6, msg=name)


def test_inductor_forward_matches_eager():
    model = token_classifier(seed=0).eval()
    batch = batch_of(token_examples(4))
    with torch.no_grad():
        eager = model(**batch).logits
        compiled = torch.compile(model)(**batch).logits  # default backend: inductor
    torch.testing.assert_close(compiled, eager, rtol=1e-4, atol=1e-5)
