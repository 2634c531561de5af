"""Print the metadata and the tensors (name, dtype, shape, a few statistics) of fixture files.

Usage:  python tools/reference/check_fixture.py FILE.safetensors [FILE ...] [--values]
        --values also prints small tensors (<= 32 elements) in full.

Only needs numpy and safetensors; it runs without torch.
"""

import json
import sys

import numpy as np
from safetensors.numpy import load_file
from safetensors import safe_open


def describe(path, show_values):
    print(f"== {path}")
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
    for key in sorted(meta):
        value = meta[key]
        if value.startswith("[") or value.startswith("{"):
            try:
                value = json.dumps(json.loads(value))
            except ValueError:
                pass
        print(f"  meta {key} = {value}")
    tensors = load_file(path)
    print(f"  {len(tensors)} tensors")
    for name in sorted(tensors):
        t = tensors[name]
        shape = "[" + ", ".join(str(d) for d in t.shape) + "]"
        line = f"  {name:70s} {str(t.dtype):8s} {shape:14s}"
        if t.size and np.issubdtype(t.dtype, np.floating):
            line += f" absmax={np.abs(t).max():.4g} mean={t.mean():.4g}"
        elif t.size:
            line += f" min={t.min()} max={t.max()}"
        print(line)
        if show_values and t.size <= 32:
            print("      " + np.array2string(t, precision=5, max_line_width=110).replace("\n", "\n      "))


def main(argv):
    show_values = "--values" in argv
    paths = [a for a in argv if a != "--values"]
    if not paths:
        print(__doc__)
        return 2
    for path in paths:
        describe(path, show_values)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
