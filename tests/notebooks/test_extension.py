"""The IPython extension stays out of the way of everything else: the package does not import IPython until
IPython loads the extension, and the magic's options are the command line's."""

from __future__ import annotations

import re
import subprocess
import sys

from notebook_support import REPO_ROOT

from archit_codemod.cli.parser import build_parser
from archit_codemod.notebook import magic_parser

OPTION = re.compile(r"(?<![\w-])--?[a-zA-Z][\w-]*")
ONLY_FOR_A_TERMINAL = {"-q", "--quiet", "--color", "--version", "-h", "--help"}


def test_importing_the_package_does_not_import_ipython_until_the_extension_is_loaded():
    code = (
        "import sys\n"
        "import archit_codemod\n"
        "from archit_codemod import *\n"
        "print('IPython' in sys.modules)\n"
        "hook = archit_codemod.load_ipython_extension\n"
        "print('IPython' in sys.modules, hook.__module__)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT)
    assert completed.stdout.splitlines() == ["False", "True archit_codemod.notebook"], completed.stderr


def test_the_magics_options_are_the_command_lines():
    magic = set(OPTION.findall(magic_parser().format_help()))
    command_line = set(OPTION.findall(build_parser().format_help().split("options:", 1)[1]))
    assert "--save-pretrained" in magic
    assert magic == command_line - ONLY_FOR_A_TERMINAL


def test_the_magics_options_give_the_write_options_of_the_command_line():
    parsed = magic_parser().parse_args(
        ["--mode", "vendor", "-o", "out", "--save-pretrained", "--check", "--no-verify"]
    )
    assert (parsed.mode, parsed.output, parsed.save_pretrained, parsed.action, parsed.verify) == (
        "vendor",
        "out",
        True,
        "check",
        False,
    )
