"""Write tests/fixtures/safetensors/python_written.safetensors with Python's `safetensors`.

tests/test_safetensors.cpp reads this file and checks every value below (so the C++ reader
agrees with the reference implementation), and also checks that the C++ writer, given the same
tensors, produces the very same bytes.

The values are chosen to be exact in their dtype (no rounding when Python stores them), and
cover each dtype adaptgrad supports, a scalar (shape []), a zero-size tensor, subnormal,
infinite and NaN halves.

Only one metadata key is written: Python keeps metadata in a hash map, so with several keys
their order in the header (and thus the file's bytes) would change from run to run.

Run from the repo root:  . .venv/bin/activate && python tools/reference/make_safetensors_fixture.py
"""

from pathlib import Path

import safetensors
import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parents[2] / "tests/fixtures/safetensors/python_written.safetensors"

inf, nan = float("inf"), float("nan")

tensors = {
    # float32: includes -0.0 and the largest float (FLT_MAX)
    "f32_matrix": torch.tensor(
        [[0.5, -1.25, 3.0], [1.0e-8, -0.0, 3.4028234663852886e38]], dtype=torch.float32
    ),
    # float16: 1, -2, largest half (65504), smallest subnormal (2^-24), smallest normal
    # (2^-14), the half nearest 1/3, +inf, NaN
    "f16_values": torch.tensor(
        [[1.0, -2.0, 65504.0, 2.0**-24], [2.0**-14, 0.333251953125, inf, nan]],
        dtype=torch.float16,
    ),
    # bfloat16: 1, -3.5, largest bfloat16 (0x7F7F), -inf
    "bf16_values": torch.tensor([1.0, -3.5, 3.3895313892515355e38, -inf], dtype=torch.bfloat16),
    # float64 scalar (shape []); read_f32 rounds it to the nearest float
    "f64_scalar": torch.tensor(3.141592653589793, dtype=torch.float64),
    "i64_ids": torch.tensor([-1, 0, 2**40], dtype=torch.int64),
    "i32_values": torch.tensor([[7], [-8]], dtype=torch.int32),
    "i16_values": torch.tensor([-32768, 32767], dtype=torch.int16),
    "i8_values": torch.tensor([-128, 127], dtype=torch.int8),
    "u8_values": torch.tensor([0, 1, 255], dtype=torch.uint8),
    "bool_mask": torch.tensor([True, False, True], dtype=torch.bool),
    "empty": torch.zeros((0, 4), dtype=torch.float32),  # zero-size: data_offsets [x, x]
}

OUT.parent.mkdir(parents=True, exist_ok=True)
save_file(
    tensors,
    str(OUT),
    metadata={"regenerate": "python tools/reference/make_safetensors_fixture.py"},
)
print(f"wrote {OUT} ({OUT.stat().st_size} bytes) with safetensors {safetensors.__version__}, "
      f"torch {torch.__version__}")
