"""Vendored files keep a lazy import of an optional package loadable as transformers remote code."""

from __future__ import annotations

import libcst as cst
from transformers.dynamic_module_utils import check_imports, get_imports

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.emitting.lazy_imports import GuardLazyImports
from archit_codemod.declaration.tracing.tracer import run_script

ORIGINAL = """\
import torch
from .utils import helper


def gather(out):
    if zero3_enabled():
        import deepspeed

        with deepspeed.zero.GatheredParameters(out):
            return helper(out)
    import torch.nn
    from .integrations import flags
    try:
        import apex
    except ImportError:
        apex = None
    return out
"""


def test_an_import_inside_a_function_of_a_package_not_imported_at_the_top_is_wrapped_and_reraised():
    guarded = cst.parse_module(ORIGINAL).visit(GuardLazyImports()).code
    assert guarded == ORIGINAL.replace(
        "        import deepspeed\n",
        "        try:\n"
        "            import deepspeed\n"
        "        except ImportError:  # optional: transformers loads remote code with it absent (check_imports)\n"
        "            raise\n",
    )


def test_a_vendored_distilbert_passes_transformers_remote_code_import_check(scripts, tmp_path):
    script = scripts(
        "modify.py",
        """
        from torch import nn
        from transformers import DistilBertConfig, DistilBertForSequenceClassification

        config = DistilBertConfig(vocab_size=99, dim=32, n_layers=2, n_heads=4, hidden_dim=37)
        model = DistilBertForSequenceClassification(config)
        model.classifier = nn.Linear(32, 5)
        """,
    )
    trace = run_script(script)
    roots = roots_to_declare(trace)
    output = generate(trace, roots, mode="vendor")
    verify(output, trace, roots)
    [modeling] = [file for file in output.files if file.name == "modeling_distilbert.py"]
    path = tmp_path / modeling.name
    path.write_text(modeling.text, encoding="utf-8")
    assert "deepspeed" not in get_imports(path)
    check_imports(path)  # raises ImportError naming any package that is imported and not installed
    assert "    try:\n            import deepspeed\n        except ImportError:" in modeling.text
