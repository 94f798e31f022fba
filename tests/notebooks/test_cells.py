"""Surgery written in notebook cells, declared in a real kernel: classes, functions, imports and constants of
other cells copied into the output; the Python API and the ``%%declare`` magic in both modes; a PEFT change; a
vendored folder loaded back with ``trust_remote_code``; and what is refused, with its message.

One kernel serves the module (starting one takes seconds): each test uses names and output folders of its own.
Every generated output is checked by rebuilding the traced model from it in a fresh process (the traced state
dict loaded strictly, the outputs compared).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_support import Kernel, check_rebuilt, running_kernel, save_traced

MODES = ("subclass", "vendor")

IMPORTS = """
import torch
import torch.nn.functional as F
from torch import nn
from transformers import BertConfig, BertModel

import archit_codemod

RANK = 4
bert_config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37)
"""

LORA = '''
class LoRALinear(nn.Module):
    """A low-rank update beside a frozen linear layer."""

    def __init__(self, base: nn.Linear, rank: int = RANK):
        super().__init__()
        self.base = base
        self.down = nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)

    def forward(self, x):
        return self.base(x) + self.up(F.gelu(self.down(x)))


def add_lora(model):
    for layer in model.encoder.layer:
        layer.attention.self.query = LoRALinear(layer.attention.self.query)
'''

TINY = """
class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.inner(x))
"""

BERT_INPUTS = "{'input_ids': torch.randint(3, 99, (2, 8))}"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Kernel:
    folder = tmp_path_factory.mktemp("notebook")
    with running_kernel(folder) as kernel:
        kernel.run_ok("%load_ext archit_codemod")
        kernel.run_ok(IMPORTS)
        kernel.run_ok(LORA)
        kernel.run_ok(TINY)
        yield kernel


@pytest.fixture
def folder(kernel: Kernel, tmp_path: Path) -> Path:
    """An output folder of the test's own (the kernel's working folder is the module's)."""
    return tmp_path


def output_of(mode: str, folder: Path, stem: str) -> Path:
    return folder / f"{stem}.py" if mode == "subclass" else folder / stem


def rebuilt(mode: str, output: Path, traced: Path, class_name: str) -> str:
    return check_rebuilt("module" if mode == "subclass" else "folder", output, traced, class_name)


# --- the Python API --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_class_imports_and_a_constant_of_other_cells_are_copied_and_the_output_rebuilds_the_model(
    kernel, folder, mode
):
    output = output_of(mode, folder, f"api_{mode}")
    written = kernel.run_ok(
        f"""
with archit_codemod.trace() as traced_api:
    api_model = BertModel(bert_config)
    add_lora(api_model)  # a function of another cell: the notebook's own code, as a script's function is
api_generated = archit_codemod.write(api_model, {str(output)!r}, trace=traced_api, mode={mode!r}, save_pretrained={mode == "vendor"})
print(sorted(api_generated.files))
"""
    )
    assert written.error is None
    save_traced(kernel, "api_model", folder / "traced.pt", BERT_INPUTS)
    text = (output if mode == "subclass" else output / "script_definitions.py").read_text(encoding="utf-8")
    # The definitions come from their cells, with the imports those cells wrote (the alias F too) and the constant.
    assert "import torch.nn.functional as F\nfrom torch import nn\n" in text
    assert "\nRANK = 4\n" in text
    assert text.index("RANK = 4") < text.index("class LoRALinear(nn.Module):")
    assert '    """A low-rank update beside a frozen linear layer."""' in text
    # add_lora ran in the traced block's namespace: its assignment is declared where the query is built, not
    # replayed as a call after __init__.
    declaring = output.read_text() if mode == "subclass" else (output / "modeling_bert.py").read_text()
    assert "self.query = LoRALinear(nn.Linear(config.hidden_size, self.all_head_size))" in declaring
    assert "add_lora" not in declaring
    assert "state dict loaded strictly, same output" in rebuilt(
        mode, output, folder / "traced.pt", "BertModelModified"
    )


def test_a_constant_is_copied_as_the_cell_that_ran_last_binds_it(kernel, folder):
    # Three cells bind WIDTH; the one that ran last is in linecache before the other two when it is a cell run
    # again unchanged: its literal, the session's value, tells it apart.
    kernel.run_ok("WIDTH = 6")
    kernel.run_ok("WIDTH = 5")
    kernel.run_ok("WIDTH = 6")
    kernel.run_ok(
        """
class Widened(nn.Module):
    def __init__(self, inner: nn.Linear):
        super().__init__()
        self.inner = nn.Linear(inner.in_features, WIDTH)
        self.back = nn.Linear(WIDTH, inner.out_features)

    def forward(self, x):
        return self.back(self.inner(x))
"""
    )
    output = folder / "widened.py"
    kernel.run_ok(
        f"""
with archit_codemod.trace() as traced_width:
    width_model = TinyNet()
    width_model.inner = Widened(width_model.inner)
archit_codemod.write(width_model, {str(output)!r}, trace=traced_width)
"""
    )
    assert "\nWIDTH = 6\n" in output.read_text(encoding="utf-8")


# --- the cell magic --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_the_magic_declares_what_its_cell_changed_and_shows_the_code(kernel, folder, mode):
    output = output_of(mode, folder, f"magic_{mode}")
    options = f"--mode {mode} -o {output}" + (" --save-pretrained" if mode == "vendor" else "")
    declared = kernel.run_ok(
        f"""%%declare {options}
magic_model = BertModel(bert_config)
magic_model.encoder.layer[1].output.dense = LoRALinear(magic_model.encoder.layer[1].output.dense, rank=2)
"""
    )
    save_traced(kernel, "magic_model", folder / "traced.pt", BERT_INPUTS)
    [html] = declared.displayed("text/html")
    [plain] = declared.displayed("text/plain")
    if mode == "subclass":
        # The module, highlighted, exactly as written.
        assert 'class="highlight"' in html
        assert plain.rstrip() == output.read_text(encoding="utf-8").rstrip()
        assert declared.stdout == f"wrote {output}\n"
    else:
        # Each file of the folder under its name, folded; in a terminal, their names.
        assert html.count("<details>") == 2 and "<code>modeling_bert.py</code>" in html
        assert plain.splitlines() == ["modeling_bert.py", "script_definitions.py"]
        assert f"wrote {output / 'model.safetensors'}\n" in declared.stdout
    # The cell ran as any cell does: its names stay in the notebook.
    assert (
        kernel.run_ok("print(type(magic_model.encoder.layer[1].output.dense).__name__)").stdout
        == "LoRALinear\n"
    )
    assert "state dict loaded strictly, same output" in rebuilt(
        mode, output, folder / "traced.pt", "BertModelModified"
    )


@pytest.mark.parametrize("mode", MODES)
def test_a_peft_change_made_in_the_magic_cell_rebuilds_the_model(kernel, folder, mode):
    output = output_of(mode, folder, f"peft_{mode}")
    options = f"--mode {mode} -o {output}" + (" --save-pretrained" if mode == "vendor" else "")
    declared = kernel.run_ok(
        f"""%%declare {options}
from peft import LoraConfig, get_peft_model

peft_base = BertModel(bert_config)
peft_model = get_peft_model(peft_base, LoraConfig(r=4, target_modules=["query", "value"]))
"""
    )
    # The adapter weights are random, so that the comparison of outputs means something.
    kernel.run_ok(
        "with torch.no_grad():\n"
        "    for name, parameter in peft_base.named_parameters():\n"
        "        if 'lora_B' in name:\n"
        "            parameter.normal_()\n"
    )
    save_traced(kernel, "peft_base", folder / "traced.pt", BERT_INPUTS)
    [plain] = declared.displayed("text/plain")
    assert "inject_adapter_in_model(LoraConfig(" in (
        plain if mode == "subclass" else (output / "modeling_bert.py").read_text()
    )
    assert "state dict loaded strictly, same output" in rebuilt(
        mode, output, folder / "traced.pt", "BertModelModified"
    )


def test_the_magic_reviews_without_writing(kernel, folder):
    output = folder / "reviewed.py"
    cell = "review_model = BertModel(bert_config)\nreview_model.pooler = None\n"
    kernel.run_ok(f"%%declare -o {output}\n{cell}")
    written = output.read_text(encoding="utf-8")
    up_to_date = kernel.run_ok(f"%%declare --check -o {output}\n{cell}")
    assert up_to_date.stdout == f"{output} is up to date.\n" and not up_to_date.displayed("text/plain")
    diff = kernel.run_ok(
        f"%%declare --diff -o {output}\n{cell.replace('pooler = None', 'pooler = nn.Identity()')}"
    )
    [patch] = diff.displayed("text/plain")
    assert "-        self.pooler = None" in patch and "+        self.pooler = nn.Identity()" in patch
    assert 'class="highlight"' in diff.displayed("text/html")[0]
    assert output.read_text(encoding="utf-8") == written


def test_the_codemods_warnings_are_python_warnings_shown_once(kernel, folder):
    # A plain PyTorch model has no dummy inputs: verification says so, once, in a warning.
    declared = kernel.run_ok("%%declare\nwarned = TinyNet()\nwarned.act = nn.GELU()\n")
    assert declared.stderr.count("UserWarning") == 1
    assert "outputs were not compared" in declared.stderr


# --- refusals and errors -----------------------------------------------------------------------------------


GONE = (
    "exec('class Gone(nn.Module):\\n"
    "    def __init__(self):\\n"
    "        super().__init__()\\n"
    "        self.inner = nn.Linear(4, 4)\\n'"
    ")\n"
)


def test_a_class_whose_source_is_gone_is_refused_with_the_reason_and_the_fix(kernel):
    refused = kernel.run_ok(
        GONE
        + """
with archit_codemod.trace() as traced_gone:
    gone_model = TinyNet()
    gone_model.inner = Gone()
try:
    archit_codemod.declare(gone_model, trace=traced_gone)
except archit_codemod.DeclarationError as refusal:
    print(refusal)
"""
    )
    message = refused.stdout
    assert message.startswith("inner (in TinyNet): Gone was defined in an interactive session")
    assert "compiled from <string>, whose text Python did not keep" in message and "Fix: define it" in message


def test_the_magic_shows_a_refusal_as_one_message(kernel, folder):
    refused = kernel.run(
        f"%%declare -o {folder / 'gone.py'}\n{GONE}gone_net = TinyNet()\ngone_net.inner = Gone()\n"
    )
    assert refused.failed and refused.error is not None and refused.error[0] == "DeclarationError"
    [line] = refused.traceback
    assert line.startswith("DeclarationError: inner (in TinyNet): Gone was defined in an interactive session")
    assert not (folder / "gone.py").exists()


def test_an_exception_of_the_cell_is_shown_as_ipython_shows_it_and_nothing_is_declared(kernel, folder):
    failed = kernel.run(
        f"%%declare -o {folder / 'raised.py'}\nraising = TinyNet()\nraising.act = nn.GELU()\n1 / 0\n"
    )
    assert failed.failed and failed.error == ("ZeroDivisionError", "division by zero")
    assert any("----> 3 1 / 0" in line for line in failed.traceback)
    assert not any("notebook.py" in line for line in failed.traceback)
    assert not (folder / "raised.py").exists()


def test_options_the_magic_does_not_know_are_a_usage_error(kernel):
    failed = kernel.run("%%declare --output-folder x\nx = 1\n")
    # IPython's way: one line on standard error, and the cell fails (Run All stops there).
    assert failed.failed
    assert failed.stderr.startswith(
        "UsageError: %%declare: unrecognized arguments: --output-folder x. usage:"
    )
    # The cell did not run.
    assert kernel.run("print('x' in globals())").stdout == "False\n"


def test_the_models_are_named_as_the_notebook_names_them_not_as_ipython_keeps_outputs(kernel):
    # A model built in an earlier cell, and that cell's value: IPython keeps it as _ and _N too, which come first
    # in the namespace.
    kernel.run_ok("peek = BertModel(bert_config)\npeek")
    declared = kernel.run_ok("%%declare\npeek.pooler = None\n")
    [code] = declared.displayed("text/plain")
    assert "(root models: peek)" in code


def test_options_that_do_not_go_together_stop_the_cell_before_it_runs(kernel):
    failed = kernel.run("%%declare --save-pretrained\nnot_run = 1\n")
    assert failed.failed
    assert failed.stderr.startswith("UsageError: %%declare: --save-pretrained needs --mode vendor")
    assert kernel.run("print('not_run' in globals())").stdout == "False\n"
