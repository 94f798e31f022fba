"""Run by ``test_ddp.py`` under ``torchrun --nproc_per_node 2``: train a tiny ModelWithHead with Trainer.

Each rank writes ``rank<N>.json`` into the folder given as the only argument: the digest of its weights
before and after training, the world size Trainer saw, and the token ids of the batches it trained on
(so the test can check that the ranks trained on different data, i.e. that gradients were synchronised).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from ecosystem_support import token_classifier, token_examples, weights_digest
from transformers import Trainer, TrainingArguments, default_data_collator


class RecordingCollator:
    """The default collator, remembering the token ids of every batch it built."""

    def __init__(self) -> None:
        self.batches: list[list[list[int]]] = []

    def __call__(self, features: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        batch = default_data_collator(features)
        self.batches.append(batch["input_ids"].tolist())
        return batch


def main(output_folder: Path) -> None:
    # The same seed on every rank; DDP broadcasts rank 0's weights anyway, which the digests confirm.
    model = token_classifier(seed=0)
    initial = weights_digest(model)
    collator = RecordingCollator()
    arguments = TrainingArguments(
        output_dir=str(output_folder / "trainer"), per_device_train_batch_size=2, max_steps=4,
        learning_rate=5e-3, seed=0, use_cpu=True, ddp_backend="gloo", report_to=[], save_strategy="no",
        logging_strategy="no", disable_tqdm=True, dataloader_num_workers=0, ddp_find_unused_parameters=False,
    )  # fmt: skip
    trainer = Trainer(model=model, args=arguments, train_dataset=token_examples(16), data_collator=collator)
    trainer.train()
    record = {
        "world_size": arguments.world_size,
        "rank": arguments.process_index,
        "initial": initial,
        "final": weights_digest(model),
        "batches": collator.batches,
    }
    (output_folder / f"rank{arguments.process_index}.json").write_text(json.dumps(record))
    # Leaving with a live gloo group can abort a rank at interpreter exit ("terminate called without an
    # active exception"); end the group explicitly once every rank has written its record.
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
