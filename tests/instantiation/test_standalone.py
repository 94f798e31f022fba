"""save_pretrained(folder, standalone=True) writes a folder that loads where archit_codemod is not installed.

The folder is loaded with transformers' auto classes and trust_remote_code=True in a subprocess where importing
archit_codemod fails (a package of that name on PYTHONPATH raises ImportError), and must give the same outputs; a
model loaded from such a folder saves as one again. In this process, the folder loads with the package's own
classes too. The copied modules are the package's source with only their imports changed.
"""

import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
import torch
import transformers
from breadth_tiny_models import ARCHITECTURES_BY_NAME, example_input_ids
from standalone_custom_task import ForWeightedTokenClassification

from archit_codemod.instantiation.basemodels import AutoBaseModel
from archit_codemod.instantiation.bundle import ENTRY_MODULE
from archit_codemod.instantiation.heads import (
    CausalLMHeadConfig,
    SequenceClassificationHeadConfig,
    TokenClassificationHeadConfig,
)
from archit_codemod.instantiation.standalone import StandaloneError
from archit_codemod.instantiation.tasks import (
    ForCausalLM,
    ForMultipleTasks,
    ForSingleLabelSequenceClassification,
    ForSingleLabelTokenClassification,
    MultiTaskHeadConfig,
    TaskSpec,
)

NEW_TOKENS = 5


def blocked_environment(tmp_path) -> dict[str, str]:
    """A subprocess environment in which `import archit_codemod` raises ImportError, with its own module cache."""
    blocker = tmp_path / "blocker" / "archit_codemod"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('archit_codemod is not installed here')\n")
    return {**os.environ, "PYTHONPATH": str(blocker.parent), "HF_MODULES_CACHE": str(tmp_path / "modules")}


@pytest.fixture(scope="module")
def standalone_folders(tmp_path_factory):
    """A token classifier (a task of the user's own module, over BERT), a causal LM (over Llama) and a multi-task
    model (whose config names its tasks' classes), saved as standalone folders, with their inputs and outputs."""
    folder = tmp_path_factory.mktemp("standalone")
    input_ids, attention_mask = example_input_ids()
    torch.manual_seed(0)
    tagger = ForWeightedTokenClassification.fromModelAndHeadConfig(
        AutoBaseModel(ARCHITECTURES_BY_NAME["bert"].make_config()),
        TokenClassificationHeadConfig(num_labels=3),
    ).eval()
    lm = ForCausalLM.fromModelAndHeadConfig(
        AutoBaseModel(ARCHITECTURES_BY_NAME["llama"].make_config()), CausalLMHeadConfig(tie_weights=False)
    ).eval()
    multitask = ForMultipleTasks.fromModelAndHeadConfig(
        AutoBaseModel(ARCHITECTURES_BY_NAME["roberta"].make_config()),
        MultiTaskHeadConfig(
            tasks={
                "tags": TaskSpec(
                    ForSingleLabelTokenClassification, TokenClassificationHeadConfig(num_labels=3)
                ),
                "sentiment": TaskSpec(
                    ForSingleLabelSequenceClassification, SequenceClassificationHeadConfig(num_labels=2)
                ),
            }
        ),
    ).eval()
    tagger.save_pretrained(folder / "tagger", standalone=True)
    lm.save_pretrained(folder / "lm", standalone=True)
    multitask.save_pretrained(folder / "multitask", standalone=True)
    labels = input_ids % 3
    with torch.no_grad():
        expected = {
            "input_ids": input_ids,
            "attention_mask": attention_mask,
            "labels": labels,
            "tagger_logits": tagger(input_ids=input_ids, attention_mask=attention_mask).logits,
            "tagger_loss": tagger(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss,
            "lm_logits": lm(input_ids=input_ids, attention_mask=attention_mask).logits,
            "multitask_logits": multitask(input_ids=input_ids, attention_mask=attention_mask).logits,
            "generated": lm.generate(
                input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=NEW_TOKENS, do_sample=False
            ),
        }
    torch.save(expected, folder / "expected.pt")
    return folder


SUBPROCESS_CHECKS = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import torch
    import transformers

    try:
        import archit_codemod
    except ImportError:
        pass
    else:
        raise SystemExit("archit_codemod is importable: the test proves nothing")

    folder = Path(sys.argv[1])
    expected = torch.load(folder / "expected.pt")
    inputs = {"input_ids": expected["input_ids"], "attention_mask": expected["attention_mask"]}

    tagger = transformers.AutoModelForTokenClassification.from_pretrained(folder / "tagger", trust_remote_code=True)
    lm = transformers.AutoModelForCausalLM.from_pretrained(folder / "lm", trust_remote_code=True)
    any_task = transformers.AutoModel.from_pretrained(folder / "tagger", trust_remote_code=True)
    with torch.no_grad():
        assert torch.equal(tagger.eval()(**inputs).logits, expected["tagger_logits"])
        assert torch.equal(tagger(**inputs, labels=expected["labels"]).loss, expected["tagger_loss"])
        assert torch.equal(any_task.eval()(**inputs).logits, expected["tagger_logits"])
        assert torch.equal(lm.eval()(**inputs).logits, expected["lm_logits"])
        generated = lm.generate(**inputs, max_new_tokens=int(sys.argv[2]), do_sample=False)
    assert torch.equal(generated, expected["generated"])
    assert type(tagger).__name__ == "ForWeightedTokenClassification"

    multitask = transformers.AutoModel.from_pretrained(folder / "multitask", trust_remote_code=True).eval()
    with torch.no_grad():
        logits = multitask(**inputs).logits
    assert logits.keys() == expected["multitask_logits"].keys()
    assert all(torch.equal(logits[name], expected["multitask_logits"][name]) for name in logits)

    tagger.save_pretrained(folder / "tagger-again")  # a model loaded from a standalone folder saves as one again
    again = transformers.AutoModelForTokenClassification.from_pretrained(folder / "tagger-again", trust_remote_code=True)
    with torch.no_grad():
        assert torch.equal(again.eval()(**inputs).logits, expected["tagger_logits"])
    assert not any(name == "archit_codemod" or name.startswith("archit_codemod.") for name in sys.modules)
    print("standalone checks passed")
    """
)


def test_standalone_folders_load_without_archit_codemod(standalone_folders, tmp_path):
    process = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_CHECKS, str(standalone_folders), str(NEW_TOKENS)],
        cwd=tmp_path,
        env=blocked_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode == 0, process.stderr[-5000:]
    assert "standalone checks passed" in process.stdout


def test_auto_map_names_the_entry_module(standalone_folders):
    config = json.loads((standalone_folders / "tagger" / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": f"{ENTRY_MODULE}.CombinedConfig",
        "AutoModel": f"{ENTRY_MODULE}.ForWeightedTokenClassification",
        "AutoModelForTokenClassification": f"{ENTRY_MODULE}.ForWeightedTokenClassification",
    }
    # The config keeps the package's import paths, so the folder loads the same with the package installed.
    assert config["model_with_head_class"] == "standalone_custom_task.ForWeightedTokenClassification"
    assert config["base_model_class"] == "archit_codemod.instantiation.basemodels.auto.AutoBaseModel"


def test_with_the_package_installed_the_folder_loads_with_or_without_remote_code(standalone_folders):
    expected = torch.load(standalone_folders / "expected.pt")
    inputs = {"input_ids": expected["input_ids"], "attention_mask": expected["attention_mask"]}
    local = transformers.AutoModelForCausalLM.from_pretrained(standalone_folders / "lm").eval()
    assert type(local) is ForCausalLM
    with torch.no_grad():
        assert torch.equal(local(**inputs).logits, expected["lm_logits"])


class WithoutImportsAndComments(cst.CSTTransformer):
    """Drops `from ... import ...` statements and the module's header comments: what a copy may change."""

    def leave_SimpleStatementLine(self, original_node, updated_node):
        if any(isinstance(statement, cst.ImportFrom) for statement in updated_node.body):
            return cst.RemoveFromParent()
        return updated_node

    def leave_Module(self, original_node, updated_node):
        return updated_node.with_changes(header=[])


def without_imports(source: str) -> str:
    return cst.parse_module(source).visit(WithoutImportsAndComments()).code


def test_copies_are_the_source_with_only_imports_changed(standalone_folders):
    copies = sorted(path for path in (standalone_folders / "lm").glob("*.py") if path.stem != ENTRY_MODULE)
    assert {path.stem for path in copies} >= {
        "archit_codemod__instantiation__tasks__lm",
        "archit_codemod__instantiation__basemodels__auto",
        "archit_codemod__instantiation__configs",
        "archit_codemod__util",
    }
    for copy in copies:
        original = Path(importlib.import_module(copy.stem.replace("__", ".")).__file__).read_text(
            encoding="utf-8"
        )
        text = copy.read_text(encoding="utf-8")
        assert text != original
        assert without_imports(text) == without_imports(original), copy.name
        assert "from archit_codemod" not in text.split("def ")[0]  # module-level imports are all relative


def test_a_class_defined_inside_a_function_is_refused_before_anything_is_written(tmp_path):
    class ForLocalTask(ForSingleLabelTokenClassification):
        pass

    model = ForLocalTask.fromModelAndHeadConfig(
        AutoBaseModel(ARCHITECTURES_BY_NAME["bert"].make_config()),
        TokenClassificationHeadConfig(num_labels=3),
    )
    with pytest.raises(StandaloneError, match="Fix: define ForLocalTask at the top level"):
        model.save_pretrained(tmp_path / "local", standalone=True)
    assert not (tmp_path / "local").exists()
