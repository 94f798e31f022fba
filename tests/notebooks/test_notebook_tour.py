"""The example notebook (the README's tour as a notebook) runs top to bottom in a fresh kernel, and the files it
writes rebuild the modified model in processes of their own, in both modes."""

from __future__ import annotations

import nbformat
from notebook_support import REPO_ROOT, check_rebuilt, running_kernel, save_traced

TOUR = REPO_ROOT / "examples" / "notebook_tour.ipynb"


def test_the_example_notebook_is_stored_without_outputs():
    notebook = nbformat.read(TOUR, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_the_example_notebook_runs_top_to_bottom_and_writes_files_that_rebuild_the_model(tmp_path):
    notebook = nbformat.read(TOUR, as_version=4)
    with running_kernel(tmp_path) as kernel:
        outputs = [kernel.run_ok(cell.source) for cell in notebook.cells if cell.cell_type == "code"]
        save_traced(kernel, "model", tmp_path / "traced.pt", "{'input_ids': torch.randint(3, 99, (2, 8))}")

    declared, rebuilt_in_kernel, written, loaded = outputs[2], outputs[3], outputs[4], outputs[5]
    # The magic showed the generated module as highlighted source, with the class copied from its cell.
    [shown] = declared.displayed("text/html")
    [code] = declared.displayed("text/plain")
    assert "highlight" in shown and "class CoolNewEmbeddingMatrix(nn.Module):" in code
    assert "self.word_embeddings = CoolNewEmbeddingMatrix(config, bottleneck_size=16)" in code
    assert code.rstrip() == (tmp_path / "models" / "roberta_declared.py").read_text(encoding="utf-8").rstrip()
    assert declared.stdout == f"wrote {'models/roberta_declared.py'}\n"
    assert rebuilt_in_kernel.stdout == "True\n"
    assert (
        written.stdout
        == "['archit_codemod.json', 'config.json', 'model.safetensors', 'modeling_roberta.py', 'script_definitions.py']\n"
    )
    assert loaded.stdout == "RobertaForMaskedLMModified True\n"
    # And where nothing of the notebook's session exists: a fresh process without archit_codemod.
    assert "RobertaForMaskedLMModified" in check_rebuilt(
        "module",
        tmp_path / "models" / "roberta_declared.py",
        tmp_path / "traced.pt",
        "RobertaForMaskedLMModified",
    )
    assert "RobertaForMaskedLMModified" in check_rebuilt(
        "folder", tmp_path / "roberta-vendored", tmp_path / "traced.pt", "RobertaForMaskedLMModified"
    )
