"""Rebuild a traced model from generated files, in a process of its own that cannot import archit_codemod.

    python rebuild_check.py module declared.py traced.pt ClassName   # a generated module: ClassName(config)
    python rebuild_check.py folder vendored/ traced.pt ClassName     # a vendored folder: from_pretrained(...,
                                                                     # trust_remote_code=True) with an auto class
                                                                     # its auto_map maps to ClassName

``traced.pt`` holds what the notebook's kernel saved (``notebook_support.save_traced``): the traced model's state
dict, its config, inputs and its first output on them. The rebuilt model must load that state dict strictly and
give the same output; the script prints what it rebuilt.
"""

import importlib.util
import json
import sys
from pathlib import Path

# What the generated files import must not include archit_codemod: their users may not have it.
sys.modules["archit_codemod"] = None

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers.utils import ModelOutput  # noqa: E402


def first_output(output):
    return output.to_tuple()[0] if isinstance(output, ModelOutput) else output


def from_module(path: Path, class_name: str, config):
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    cls = getattr(module, class_name)
    return cls(config) if config is not None else cls()


def from_folder(folder: Path, class_name: str):
    auto_map = json.loads((folder / "config.json").read_text())["auto_map"]
    auto = next(auto for auto, reference in auto_map.items() if reference.endswith(f".{class_name}"))
    return getattr(transformers, auto).from_pretrained(folder, trust_remote_code=True)


def main() -> None:
    kind, target, traced, class_name = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    saved = torch.load(traced, weights_only=False)
    model = (
        from_module(target, class_name, saved["config"])
        if kind == "module"
        else from_folder(target, class_name)
    )
    model.load_state_dict(saved["state_dict"], strict=True)
    model.eval()
    with torch.no_grad():
        output = first_output(model(**saved["inputs"]))
    assert output.shape == saved["output"].shape, (output.shape, saved["output"].shape)
    assert torch.allclose(output, saved["output"], rtol=1e-5, atol=1e-6), (
        (output - saved["output"]).abs().max()
    )
    print(f"rebuilt {type(model).__name__}: state dict loaded strictly, same output")


if __name__ == "__main__":
    main()
