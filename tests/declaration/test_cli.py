"""The command line: argument passing, exit codes, messages, and writing only verified output.

Most tests run ``main()`` in-process with a fake codemod (``fake_codemod``) so that they check the
command line's own plumbing; a few run ``python -m archit_codemod`` in a subprocess, the last one with
the real codemod end to end.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import types
import warnings
from pathlib import Path

import pytest

import archit_codemod
import archit_codemod.declaration
from archit_codemod.cli import main
from archit_codemod.cli.parser import split_at_script
from archit_codemod.declaration.emitting.output import GeneratedFile, Output
from archit_codemod.declaration.errors import DeclarationError, VerificationError

MODIFYING = """
import json, sys
from torch import nn

print("script output", json.dumps({"argv": sys.argv, "name": __name__, "file": __file__}))
model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
model[1] = nn.GELU()
"""


NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self, width: int = 4):
        super().__init__()
        self.body = nn.Linear(width, width)
        self.act = nn.ReLU()


print("script output")
model = Net(4)
model.act = nn.GELU()
"""
"""A script for the real codemod (the subprocess tests)."""


class FakeCodemod:
    """Stands in for ``archit_codemod.declaration.api``; records its calls, can be told to fail."""

    def __init__(self) -> None:
        self.generated: list[tuple] = []
        self.verified: list[tuple] = []
        self.generate_error: Exception | None = None
        self.verify_error: Exception | None = None
        self.warnings: list[str] = []

    def generate(self, trace, roots, *, suffix="Modified", mode="subclass", prune=False, provenance=None):
        self.generated.append((trace, roots, suffix))
        if self.generate_error is not None:
            raise self.generate_error
        classes = {name: f"{type(root).__name__}{suffix}" for name, root in roots.items()}
        source = "".join(f"class {cls}: ...\n" for cls in classes.values())
        return Output(
            "subclass",
            (GeneratedFile("declared.py", source),),
            roots={name: ("declared", cls) for name, cls in classes.items()},
            warnings=tuple(self.warnings),
        )

    def verify(self, generated, trace, roots):
        self.verified.append((generated, trace, roots))
        if self.verify_error is not None:
            raise self.verify_error

    def generate_verified(self, trace, roots, **options):
        """``api.generate_verified`` for an output whose verification finds nothing to set again."""
        generated = self.generate(trace, roots, **options)
        self.verify(generated, trace, roots)
        return generated


@pytest.fixture
def fake_codemod(monkeypatch) -> FakeCodemod:
    fake = FakeCodemod()
    module = types.ModuleType("archit_codemod.declaration.api")
    module.generate, module.verify, module.generate_verified = (
        fake.generate,
        fake.verify,
        fake.generate_verified,
    )
    monkeypatch.setitem(sys.modules, "archit_codemod.declaration.api", module)
    monkeypatch.setattr(archit_codemod.declaration, "api", module, raising=False)
    return fake


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def _folder_listing(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


# --- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "ours", "theirs"),
    [
        (["s.py"], ["s.py"], []),
        (["-o", "out.py", "--no-verify", "s.py", "a"], ["-o", "out.py", "--no-verify", "s.py"], ["a"]),
        (
            ["--suffix=V2", "s.py", "-o", "x", "--", "--model"],
            ["--suffix=V2", "s.py"],
            ["-o", "x", "--", "--model"],
        ),
        (["--model", "m", "--", "-s.py", "--"], ["--model", "m", "--", "-s.py"], ["--"]),
        (["-oout.py", "s.py"], ["-oout.py", "s.py"], []),
    ],
)
def test_everything_after_the_script_belongs_to_the_script(argv, ours, theirs):
    assert split_at_script(argv) == (ours, theirs)


def test_the_script_gets_its_arguments_and_runs_as_main(scripts, fake_codemod, capsys):
    script = scripts("modify.py", MODIFYING)
    assert main(["--no-verify", str(script), "--foo", "-o", "x", "--", "--no-verify"]) == 0
    out, err = capsys.readouterr()
    # The generated code alone on standard output; the script's prints go to standard error.
    assert out == "class SequentialModified: ...\n"
    seen = json.loads(err.split("script output ", 1)[1].splitlines()[0])
    assert seen == {
        "argv": [str(script), "--foo", "-o", "x", "--", "--no-verify"],
        "name": "__main__",
        "file": str(script),
    }
    [(trace, roots, suffix)] = fake_codemod.generated
    assert list(roots) == ["model"] and roots["model"] is trace.namespace["model"] and suffix == "Modified"
    assert fake_codemod.verified == []  # --no-verify


def test_options_reach_the_codemod_and_output_is_written_after_verification(scripts, fake_codemod, capsys):
    script = scripts("modify.py", MODIFYING + "spare = nn.Linear(2, 2)\nspare.extra = nn.ReLU()\n")
    output = script.parent / "declared.py"
    assert main(["-o", str(output), "--suffix", "V2", "--model", "spare", str(script)]) == 0
    out, err = capsys.readouterr()
    # With --output, standard output is the script's own.
    assert out.startswith("script output") and f"wrote {output}" in err
    assert output.read_text() == "class LinearV2: ...\n"
    [(trace, roots, suffix)] = fake_codemod.generated
    assert list(roots) == ["spare"] and suffix == "V2"
    [(generated, verified_trace, verified_roots)] = fake_codemod.verified
    assert verified_trace is trace and verified_roots is roots and generated.source == output.read_text()
    assert _folder_listing(script.parent) == ["declared.py", "modify.py"]  # no temporary file left


def test_an_existing_output_is_replaced_keeping_its_permissions(scripts, fake_codemod):
    script = scripts("modify.py", MODIFYING)
    output = script.parent / "declared.py"
    output.write_text("# Generated by archit_codemod (an older run)\nold\n")
    output.chmod(0o640)
    assert main(["-o", str(output), str(script)]) == 0
    assert output.read_text() == "class SequentialModified: ...\n"
    assert output.stat().st_mode & 0o777 == 0o640


def test_codemod_warnings_go_to_standard_error(scripts, fake_codemod, capsys):
    fake_codemod.warnings = ["forward does not use new attribute extra"]
    assert main([str(scripts("modify.py", MODIFYING))]) == 0
    out, err = capsys.readouterr()
    assert "archit_codemod: warning: forward does not use new attribute extra" in err
    assert "warning" not in out


# --- failures and their exit codes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "error", "code"),
    [
        ("verify", VerificationError("paths differ: encoder.layer.0.query"), 1),
        ("generate", DeclarationError("model.head: cannot render argument 'weight'"), 2),
    ],
)
def test_a_failed_generation_or_verification_writes_nothing(
    scripts, fake_codemod, capsys, stage, error, code
):
    setattr(fake_codemod, f"{stage}_error", error)
    script = scripts("modify.py", MODIFYING)
    output = script.parent / "declared.py"
    previous = "# Generated by archit_codemod (previous version)\n"
    output.write_text(previous)
    assert main(["-o", str(output), str(script)]) == code
    out, err = capsys.readouterr()
    assert "class" not in out and f"archit_codemod: error: {error}" in err
    assert output.read_text() == previous
    assert _folder_listing(script.parent) == ["declared.py", "modify.py"]


def test_nothing_modified_exits_1_without_calling_the_codemod(scripts, fake_codemod, capsys):
    script = scripts("idle.py", "from torch import nn\nmodel = nn.Linear(2, 2)\n")
    assert main([str(script)]) == 1
    assert "the script modified no module" in capsys.readouterr().err
    assert fake_codemod.generated == []


def test_an_unknown_model_name_is_a_usage_error(scripts, fake_codemod, capsys):
    script = scripts("named.py", MODIFYING + "spare = nn.Linear(2, 2)\n")
    assert main(["--model", "missing", str(script)]) == 2
    err = capsys.readouterr().err
    assert (
        "archit_codemod: error: --model missing: the script has no global module named 'missing'. "
        "Fix: give the name of one it defines (model, spare)."
    ) in err
    assert fake_codemod.generated == []


def test_missing_folders_of_the_output_are_created(scripts, fake_codemod, capsys):
    script = scripts("modify.py", MODIFYING)
    assert main(["-o", "no/such/folder/out.py", str(script)]) == 0
    assert Path("no/such/folder/out.py").read_text() == "class SequentialModified: ...\n"
    assert "wrote no/such/folder/out.py" in capsys.readouterr().err


def test_a_raising_script_exits_2_with_its_own_traceback(scripts, fake_codemod, capsys):
    script = scripts(
        "raising.py",
        """
        from torch import nn
        model = nn.Linear(2, 2)
        model.extra = nn.ReLU()
        model.missing_method()
        """,
    )
    assert main(["-o", "out.py", str(script)]) == 2
    err = capsys.readouterr().err
    assert f"archit_codemod: error: {script} failed:\nTraceback (most recent call last):" in err
    assert f'File "{script}", line 4, in <module>\n    model.missing_method()' in err
    assert "AttributeError: 'Linear' object has no attribute 'missing_method'" in err
    assert "archit_codemod/" not in err.replace("archit_codemod: error", "") and "runpy" not in err
    assert fake_codemod.generated == [] and not Path("out.py").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--mode", "vendor"], "--mode vendor writes a folder: give it with -o FOLDER"),
        (["--check"], "--check compares with an existing output: give it with -o PATH"),
        (["--save-pretrained", "-o", "x.py"], "--save-pretrained needs --mode vendor"),
        (["--suffix", "1-2"], "would not give valid class names"),
        (["--suffix", ""], "--suffix '' would not give valid class names"),
        (
            ["--mode", "vendor", "-o", "vfile.py"],
            "vfile.py looks like a file name. Fix: give a folder, e.g. -o vfile/",
        ),
        (["--mode", "vendor", "-o", "-"], "--mode vendor writes a folder, not standard output"),
        (["--diff"], "--diff compares with an existing output: give it with -o PATH"),
        (["--check", "-o", "-"], "--check compares with an existing output"),
        (["--diff", "--check", "-o", "x.py"], "not allowed with argument"),
        (["--color", "sometimes"], "invalid choice: 'sometimes'"),
        (["-o", "."], "is a folder"),
    ],
)
def test_unusable_options_exit_2_before_running_the_script(scripts, fake_codemod, capsys, options, message):
    marker = Path("ran")
    script = scripts("modify.py", "open('ran', 'w').close()\n" + MODIFYING)
    assert main([*options, str(script)]) == 2
    assert message in capsys.readouterr().err
    assert not marker.exists()


def test_the_output_may_not_overwrite_the_script(scripts, fake_codemod, capsys):
    script = scripts("modify.py", MODIFYING)
    assert main(["-o", str(script), str(script)]) == 2
    assert "is the script itself" in capsys.readouterr().err
    assert script.read_text() == MODIFYING.lstrip("\n")


def test_usage_errors_help_and_version(capsys):
    assert main([]) == 2
    assert "the following arguments are required: SCRIPT" in capsys.readouterr().err
    assert main(["--mode", "other", "s.py"]) == 2
    assert "invalid choice: 'other'" in capsys.readouterr().err
    assert main(["--outp", "x", "s.py"]) == 2  # no abbreviations: they would shadow script options
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip().endswith(archit_codemod.__version__)
    assert main(["--help"]) == 0
    assert "[OPTIONS] SCRIPT [SCRIPT_ARGS...]" in capsys.readouterr().out


# --- as a user runs it ------------------------------------------------------------------------------


def test_python_dash_m_passes_through_the_status_of_a_script_that_exits(scripts, run_cli):
    script = scripts("raising.py", "import sys\nprint(sys.argv[1:])\nraise SystemExit(sys.argv[1])\n")
    completed = run_cli(str(script), "--flag")
    # As `python raising.py --flag` does: the message on standard error, exit status 1.
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.startswith("['--flag']\n--flag\n")
    assert f"{script} exited with status 1; nothing was generated" in completed.stderr


def test_importing_the_package_stays_light():
    code = "import archit_codemod, archit_codemod.cli, sys; print(sorted({'torch', 'transformers', 'libcst'} & set(sys.modules)))"
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parents[2]
    )
    assert completed.stdout.strip() == "[]", completed.stderr


def test_declaring_a_plain_pytorch_model_does_not_import_transformers(scripts):
    # Importing transformers takes seconds; a script that never imported it built no transformers model.
    script = scripts(
        "plain_torch.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.act = nn.ReLU()

        model = Net()
        model.act = nn.GELU()
        """,
    )
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['archit_codemod', '--mode', sys.argv[1], '-o', sys.argv[2], {str(script)!r}]\n"
        "try:\n    runpy.run_module('archit_codemod', run_name='__main__')\n"
        "except SystemExit as exit:\n    print('exit', exit.code, 'transformers' in sys.modules)\n"
    )
    for mode, output in (("subclass", "declared.py"), ("vendor", "declared")):
        completed = subprocess.run(
            [sys.executable, "-c", code, mode, str(script.parent / output)], capture_output=True, text=True
        )
        assert completed.stdout.splitlines()[-1] == "exit 0 False", completed.stderr


def test_end_to_end_with_the_real_codemod(scripts, run_cli):
    script = scripts(
        "plain_net.py",
        """
        from torch import nn

        class Net(nn.Module):
            def __init__(self, width: int = 4):
                super().__init__()
                self.body = nn.Linear(width, width)
                self.act = nn.ReLU()

        model = Net(4)
        model.act = nn.GELU()
        """,
    )
    completed = run_cli("-o", "declared.py", str(script))
    assert completed.returncode == 0, completed.stderr
    generated = (script.parent / "declared.py").read_text()
    tree = ast.parse(generated)
    classes = {
        node.name: [ast.unparse(base) for base in node.bases]
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    assert classes["NetModified"] == ["Net"]
    assert "self.act = nn.GELU()" in generated
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        namespace: dict = {}
        exec(compile(generated, "declared.py", "exec"), namespace)
    rebuilt = namespace["NetModified"](4)
    assert [type(m).__name__ for m in rebuilt.children()] == ["Linear", "GELU"]


# --- manners: standard output, the script's own exit, status lines, Ctrl-C ----------------------------


def test_dash_is_standard_output(scripts, fake_codemod, capsys):
    script = scripts("modify.py", MODIFYING)
    assert main(["-o", "-", str(script)]) == 0
    out, err = capsys.readouterr()
    assert out == "class SequentialModified: ...\n" and "script output" in err
    assert not Path("-").exists()


def test_dev_stdout_as_output_does_not_hang(scripts):
    script = scripts("modify.py", NET)
    environment = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    completed = subprocess.run(
        [sys.executable, "-m", "archit_codemod", "--no-verify", "-o", "/dev/stdout", str(script)],
        cwd=script.parent,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("# Generated by archit_codemod")
    assert "script output" not in completed.stdout  # the script's prints went to standard error


ARGPARSE_SCRIPT = """
import argparse, sys
from torch import nn

parser = argparse.ArgumentParser(description="Widen the model.")
parser.add_argument("--width", type=int, default=2)
args = parser.parse_args()
model = nn.Sequential(nn.Linear(args.width, args.width), nn.ReLU())
model[1] = nn.GELU()
"""


def test_the_scripts_help_is_the_scripts_and_its_exit_status_is_passed_through(scripts, fake_codemod, capsys):
    script = scripts("widen.py", ARGPARSE_SCRIPT)
    assert main([str(script), "--help"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and "Widen the model." in err and "--width WIDTH" in err
    assert "archit_codemod" not in err and fake_codemod.generated == []
    # argparse's own usage error: its status 2, its message, and one line saying nothing was generated.
    assert main([str(script), "--width", "wide"]) == 2
    err = capsys.readouterr().err
    assert "argument --width: invalid int value: 'wide'" in err
    assert err.strip().splitlines()[-1].endswith("exited with status 2; nothing was generated")
    assert "modified no module" not in err


def test_a_script_that_calls_sys_exit_0_after_modifying_is_declared(scripts, fake_codemod, capsys):
    script = scripts("exits.py", MODIFYING + "import sys\nsys.exit(0)\n")
    assert main([str(script)]) == 0
    assert capsys.readouterr().out == "class SequentialModified: ...\n"


def _run_with_stderr_on_a_terminal(arguments: list[str], cwd: Path, **environment: str) -> tuple[int, str]:
    """Run the command line with standard error on a pseudo-terminal; (exit status, what the terminal got)."""
    pty = pytest.importorskip("pty")
    primary, secondary = pty.openpty()
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    env.update(PYTHONPATH=str(Path(__file__).parents[2]), **environment)
    process = subprocess.Popen(
        [sys.executable, "-m", "archit_codemod", *arguments],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
    )
    os.close(secondary)
    received = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        received += chunk
    os.close(primary)
    return process.wait(timeout=300), received.decode()


def test_status_lines_on_a_terminal_only_and_without_colour_under_no_color(scripts):
    script = scripts("modify.py", NET)
    code, terminal = _run_with_stderr_on_a_terminal(
        ["-o", "out.py", str(script)], script.parent, NO_COLOR="1"
    )
    assert code == 0, terminal
    stages = [line.split(" (")[0] for line in terminal.splitlines() if line.startswith("archit_codemod: ")]
    assert stages == [
        f"archit_codemod: running {script}",
        "archit_codemod: planning",
        "archit_codemod: verifying",
        "archit_codemod: writing out.py",
        # Net has no forward and no inputs: verification says, in one line, that it compared no outputs.
        "archit_codemod: warning: model: the generated code was checked structurally",
        "archit_codemod: wrote out.py",
    ]
    assert "\033[" not in terminal

    code, terminal = _run_with_stderr_on_a_terminal(["-q", "-o", "out.py", str(script)], script.parent)
    # Quiet leaves no status line, and the warning.
    lines = [line for line in terminal.splitlines() if line.startswith("archit_codemod: ")]
    assert code == 0 and len(lines) == 1 and "warning:" in lines[0], terminal


def test_messages_are_coloured_on_a_terminal_unless_no_color(scripts, fake_codemod, capsys, monkeypatch):
    script = scripts("idle.py", "from torch import nn\nmodel = nn.Linear(2, 2)\n")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert main([str(script)]) == 1
    assert "archit_codemod: \033[1;31merror:\033[0m the script modified no module" in capsys.readouterr().err
    monkeypatch.setenv("NO_COLOR", "1")
    assert main([str(script)]) == 1
    assert "archit_codemod: error: the script modified no module" in capsys.readouterr().err
    assert main(["--color=always", str(script)]) == 1  # an explicit choice overrides NO_COLOR
    assert "\033[1;31merror:" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line_and_writes_nothing(scripts):
    script = scripts(
        "slow.py",
        NET + "import time\nprint('ready', flush=True)\ntime.sleep(300)\n",
    )
    environment = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    process = subprocess.Popen(
        [sys.executable, "-m", "archit_codemod", "-o", "out.py", str(script)],
        cwd=script.parent,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "script output\n"
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err.splitlines() == ["archit_codemod: interrupted; nothing was written"]
    assert _folder_listing(script.parent) == ["slow.py"]
