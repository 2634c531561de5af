"""Loads an adapter saved by adaptgrad in PEFT and compares the logits with adaptgrad's.

    ADAPTGRAD_KEEP_ADAPTER=/tmp/ag_adapter build/bin/test_adapter_io
    python tools/reference/check_adapter_in_peft.py /tmp/ag_adapter

The adapter (made by tests/test_adapter_io.cpp on tests/fixtures/tiny-distilbert, DoRA r=4 on
q_lin/v_lin with the classifier in modules_to_save) is loaded with PeftModel.from_pretrained on
the same base checkpoint and run on the fixture batch; PASS when the logits agree within 1e-5.
"""
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
from peft import PeftModel  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import AutoModelForSequenceClassification  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(adapter_dir):
    base = AutoModelForSequenceClassification.from_pretrained(
        os.path.join(ROOT, "tests/fixtures/tiny-distilbert"), attn_implementation="eager")
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    batch = load_file(os.path.join(ROOT, "tests/fixtures/peft/distilbert_dora_qv.safetensors"))
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ours = load_file(os.path.join(adapter_dir, "adaptgrad_logits.safetensors"))["logits"]
    err = (logits - ours).abs().max().item()
    print(f"max |PEFT - adaptgrad| logits: {err:.3e}  ->  {'PASS' if err <= 1e-5 else 'FAIL'}")
    return 0 if err <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/ag_adapter"))
