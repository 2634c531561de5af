"""Helpers shared by the reference-fixture generators.

Every fixture is a safetensors file whose metadata says what wrote it and how to regenerate it:

    {"format": "adaptgrad-fixture", "version": "1", "regenerate": "<command>",
     "torch": "...", "transformers": "...", "peft": "...", ...case-specific keys...}

Integer tensors are int64, everything else float32, all contiguous.
"""

import json
import os

# Never touch the network: the tiny models are built from configs, not downloaded.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from pathlib import Path  # noqa: E402

import peft  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

FIXTURE_FORMAT = "adaptgrad-fixture"
FIXTURE_VERSION = "1"

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures"


def setup_torch():
    """Single-threaded, deterministic CPU float32 arithmetic."""
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


def library_versions():
    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}


def fixture_metadata(script_name, **extra):
    """Metadata for one fixture file; every value must be a string."""
    meta = {
        "format": FIXTURE_FORMAT,
        "version": FIXTURE_VERSION,
        # Run from the repo root (the scripts find tests/fixtures/ from their own location).
        "regenerate": f". .venv/bin/activate && python tools/reference/{script_name}",
    }
    meta.update(library_versions())
    meta.update({k: str(v) for k, v in extra.items()})
    return meta


def as_fixture_tensor(t):
    """int64 for integer tensors, float32 for everything else; detached, contiguous, CPU."""
    t = t.detach().cpu()
    t = t.to(torch.int64) if not t.is_floating_point() else t.to(torch.float32)
    return t.contiguous().clone()


def sort_metadata_in_header(path):
    """Make the file byte-for-byte reproducible.

    A safetensors file is: 8-byte little-endian header length N, N bytes of JSON header, tensor
    data. save_file writes the "__metadata__" entries in a random (hash-map) order, so two runs
    give the same values but different bytes. Rewrite the JSON header with sorted keys: same
    content, same length, so the data offsets stay valid.
    """
    raw = bytearray(Path(path).read_bytes())
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    assert len(text) <= n, "canonical header is longer than the original"
    raw[8 : 8 + n] = text + b" " * (n - len(text))  # safetensors pads the header with spaces
    Path(path).write_bytes(bytes(raw))


def write_fixture(path, tensors, metadata):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: as_fixture_tensor(v) for k, v in tensors.items()}, str(tmp), metadata=metadata)
    sort_metadata_in_header(tmp)
    tmp.chmod(0o644)
    tmp.replace(path)
    print(f"wrote {path.relative_to(REPO_ROOT)}  ({len(tensors)} tensors, {path.stat().st_size} bytes)")


def make_batch(with_token_types):
    """The one batch every model fixture uses: 3 sequences padded to length 7 (real lengths 7, 5, 3).

    Real tokens are drawn from [1, 101); padding positions hold id 0 (= pad_token_id, as a BERT
    tokenizer produces). token_type_ids mark a second segment; padding positions have type 0.
    """
    gen = torch.Generator().manual_seed(1234)
    lengths = [7, 5, 3]
    batch, seq_len = len(lengths), 7
    input_ids = torch.randint(1, 101, (batch, seq_len), generator=gen)
    attention_mask = torch.zeros(batch, seq_len, dtype=torch.int64)
    for i, n in enumerate(lengths):
        attention_mask[i, :n] = 1
    input_ids = input_ids * attention_mask  # pad positions -> id 0
    out = {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "labels": torch.tensor([2, 0, 1], dtype=torch.int64),
    }
    if with_token_types:
        out["token_type_ids"] = torch.tensor(
            [
                [0, 0, 0, 0, 1, 1, 1],
                [0, 0, 1, 1, 1, 0, 0],
                [0, 1, 1, 0, 0, 0, 0],
            ],
            dtype=torch.int64,
        )
    return out


def model_inputs(batch):
    """The keyword arguments to pass to a HF model (everything but labels)."""
    return {k: v for k, v in batch.items() if k != "labels"}
