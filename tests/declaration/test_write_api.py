"""``archit_codemod.write``: the command line's work for a model traced in this process, with exceptions instead of
exit statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import BertConfig, BertModel

import archit_codemod

CONFIG = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)


@pytest.fixture
def traced_bert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A tiny BERT whose pooler was removed inside a trace, with ``tmp_path`` as the working folder."""
    monkeypatch.chdir(tmp_path)
    with archit_codemod.trace() as traced:
        model = BertModel(BertConfig(**CONFIG))
        model.pooler = None
    return model, traced


def test_the_package_exports_the_api_lazily():
    assert {"trace", "declare", "write", "Generated", "DeclarationError", "OutputError"} <= set(
        dir(archit_codemod)
    )
    assert archit_codemod.write.__module__ == "archit_codemod.delivery.write"


def test_without_an_output_the_code_is_returned_as_declare_returns_it(traced_bert):
    model, traced = traced_bert
    generated = archit_codemod.write(model, trace=traced)
    assert generated.written == () and generated.action == "write"
    assert "class BertModelModified(BertModel):" in generated.source
    assert generated.source == archit_codemod.declare(model, trace=traced)


def test_write_diff_check_as_the_command_line_does(traced_bert, tmp_path: Path):
    model, traced = traced_bert
    diff = archit_codemod.write(model, "models/declared.py", trace=traced, action="diff")
    assert diff.patch.startswith("--- /dev/null\n+++ b/models/declared.py\n")
    assert diff.stale == (Path("models/declared.py"),) and not (tmp_path / "models").exists()

    written = archit_codemod.write(model, "models/declared.py", trace=traced)
    assert written.written == (Path("models/declared.py"),)
    assert (tmp_path / "models" / "declared.py").read_text() == written.source

    check = archit_codemod.write(model, "models/declared.py", trace=traced, action="check")
    assert check.up_to_date and check.patch == ""
    (tmp_path / "models" / "declared.py").write_text(written.source + "# by hand\n")
    check = archit_codemod.write(model, "models/declared.py", trace=traced, action="check")
    assert not check.up_to_date and "-# by hand\n" in check.patch


def test_unusable_options_and_outputs_raise_with_the_fix(traced_bert, tmp_path: Path):
    model, traced = traced_bert
    with pytest.raises(ValueError, match="--mode vendor writes a folder: give it with -o FOLDER"):
        archit_codemod.write(model, trace=traced, mode="vendor")
    with pytest.raises(ValueError, match="--save-pretrained needs --mode vendor"):
        archit_codemod.write(model, "declared.py", trace=traced, save_pretrained=True)
    (tmp_path / "mine.py").write_text("class Mine: ...\n")
    with pytest.raises(archit_codemod.OutputError, match="refusing to overwrite it. Fix: .*--force"):
        archit_codemod.write(model, "mine.py", trace=traced)
    assert (tmp_path / "mine.py").read_text() == "class Mine: ...\n"


def test_nothing_to_declare_is_an_exception(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with archit_codemod.trace() as traced:
        model = BertModel(BertConfig(**CONFIG))
    with pytest.raises(archit_codemod.NothingModifiedError):
        archit_codemod.write(model, "declared.py", trace=traced)
    assert list(tmp_path.iterdir()) == []
