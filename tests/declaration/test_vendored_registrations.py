"""Vendored copies of files whose definitions register themselves at import (torchvision's and timm's
``@register_model``) import beside the installed library, and leave its registries as they are.

The libraries are packages written by each test into a folder of their own on ``sys.path`` (installed, as far as the
script and the generated code can tell): torchvision and timm do not import beside the torch these tests run on.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from archit_codemod.declaration.api import generate, verify
from archit_codemod.declaration.checking.completeness import roots_to_declare
from archit_codemod.declaration.checking.verify import load_output
from archit_codemod.declaration.tracing.tracer import run_script

NET = """
from torch import nn


class TinyNet(nn.Module):
    def __init__(self, width=4, classes=2):
        super().__init__()
        self.body = nn.Linear(width, width)
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        return self.head(self.body(x).relu())
"""

RAISING_REGISTRY = '''
BUILTIN_MODELS = {}


def register_model(name=None):
    """As torchvision.models._api.register_model: a builder registered twice is an error."""

    def wrapper(fn):
        key = name if name is not None else fn.__name__
        if key in BUILTIN_MODELS:
            raise ValueError(f"An entry is already registered under the name '{key}'.")
        BUILTIN_MODELS[key] = fn
        return fn

    return wrapper
'''

REPLACING_REGISTRY = '''
class Registry:
    """As the registries of OpenMMLab's libraries: a class registered again replaces the first."""

    def __init__(self):
        self.classes = {}

    def register_module(self):
        def wrapper(cls):
            self.classes[cls.__name__] = cls
            return cls

        return wrapper


MODELS = Registry()
'''


def _library(root: Path, name: str, files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for file, text in files.items():
        (package / file).write_text(textwrap.dedent(text).lstrip())
    # After sys.path[0], which a traced script's folder replaces while it runs.
    monkeypatch.setattr(sys, "path", [*sys.path[:1], str(root), *sys.path[1:]])
    importlib.invalidate_caches()


@pytest.fixture
def forget_libraries():
    """The packages the tests write are removed from ``sys.modules`` afterwards (each test writes its own)."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.split(".")[0] in {"vision_zoo", "mm_zoo", "own_zoo"}:
            del sys.modules[name]


def _declared(scripts, source: str):
    trace = run_script(scripts("modify.py", source))
    roots = roots_to_declare(trace)
    return generate(trace, roots, mode="vendor"), trace, roots


def test_a_builder_registered_in_a_registry_that_refuses_names_twice_is_left_unregistered(
    scripts, tmp_path, monkeypatch, forget_libraries
):
    net = (
        NET
        + "\n\nfrom ._api import register_model\n\n\n@register_model()\n"
        + "def tiny_net(**kwargs):\n    return TinyNet(**kwargs)\n"
    )
    _library(tmp_path / "site", "vision_zoo", {"_api.py": RAISING_REGISTRY, "nets.py": net}, monkeypatch)
    source = """
    from torch import nn
    from vision_zoo.nets import tiny_net

    model = tiny_net()
    model.head = nn.Linear(4, 3)
    """
    output, trace, roots = _declared(scripts, source)
    verify(output, trace, roots)  # the vendored nets.py imports beside vision_zoo
    [vendored] = [file.text for file in output.files if file.name == "nets.py"]
    assert "\n@register_model()" not in vendored
    assert (
        "# archit_codemod: @register_model() left out: it registers tiny_net in vision_zoo._api.BUILTIN_MODELS, "
        "which the\n# installed library fills.\ndef tiny_net(**kwargs):" in vendored
    )
    registry = importlib.import_module("vision_zoo._api").BUILTIN_MODELS
    with load_output(output) as package:
        copy = package.module("nets")
        assert registry == {"tiny_net": importlib.import_module("vision_zoo.nets").tiny_net}
        assert (
            copy.tiny_net().head.out_features == 3
        )  # the builder itself stays, and builds the declared model


def test_a_class_registered_in_a_registry_object_stays_the_librarys(
    scripts, tmp_path, monkeypatch, forget_libraries
):
    net = NET.replace(
        "class TinyNet", "from .registry import MODELS\n\n\n@MODELS.register_module()\nclass TinyNet"
    )
    _library(tmp_path / "site", "mm_zoo", {"registry.py": REPLACING_REGISTRY, "nets.py": net}, monkeypatch)
    source = """
    from torch import nn
    from mm_zoo.nets import TinyNet

    model = TinyNet()
    model.head = nn.Linear(4, 3)
    """
    output, trace, roots = _declared(scripts, source)
    verify(output, trace, roots)
    [vendored] = [file.text for file in output.files if file.name == "nets.py"]
    assert (
        "# archit_codemod: @MODELS.register_module() left out: it registers TinyNet in Registry object.classes"
        in vendored
    )
    with load_output(output) as package:
        package.module("nets")
        registered = importlib.import_module("mm_zoo.registry").MODELS.classes
        assert registered == {"TinyNet": importlib.import_module("mm_zoo.nets").TinyNet}


def test_a_registry_of_the_vendored_file_itself_is_kept(scripts, tmp_path, monkeypatch, forget_libraries):
    # The copy has a registry of its own: registering there conflicts with nothing, and the file may read it.
    net = (
        RAISING_REGISTRY
        + NET
        + "\n\n@register_model()\ndef tiny_net(**kwargs):\n    return TinyNet(**kwargs)\n\n\n"
        + "def build(name):\n    return BUILTIN_MODELS[name]()\n"
    )
    _library(tmp_path / "site", "own_zoo", {"nets.py": net}, monkeypatch)
    source = """
    from torch import nn
    from own_zoo.nets import build

    model = build("tiny_net")
    model.head = nn.Linear(4, 3)
    """
    output, trace, roots = _declared(scripts, source)
    verify(output, trace, roots)
    [vendored] = [file.text for file in output.files if file.name == "nets.py"]
    assert "\n@register_model()\ndef tiny_net(**kwargs):" in vendored
    assert "left out" not in vendored
