"""Loads a train run folder with PEFT from another directory and compares it with `predict`.

    python tools/reference/check_run_in_peft.py RUN_DIR [TEXTS_FILE [PRECISION]]

The run's adapter_config.json names its base by absolute path, so
AutoPeftModelForSequenceClassification.from_pretrained(RUN_DIR) works from any directory (this
script runs it, and build/bin/predict --run RUN_DIR, from a fresh temporary directory). PASS
when both give the same label for every text and probabilities within 1e-4 (predict prints 4
decimals). PRECISION (fp32 by default, or bf16) is passed to predict, while PEFT runs fp32: in
bf16 the check is that every text gets the same label (probabilities differ by bf16 rounding;
the largest difference is printed).
"""
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import torch  # noqa: E402
from peft import AutoPeftModelForSequenceClassification  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEXTS = ["the plot was truly wonderful .", "the cast was awful .", "a dull film ."]


def main(run_dir, texts_file=None, precision="fp32"):
    run_dir = os.path.abspath(run_dir)
    texts = TEXTS
    if texts_file:
        with open(texts_file, encoding="utf-8") as f:
            texts = [line.rstrip("\n") for line in f if line.strip()]
    with open(os.path.join(run_dir, "labels.json"), encoding="utf-8") as f:
        id2label = json.load(f)["id2label"]

    def name(i):
        return id2label[i] if isinstance(id2label, list) else id2label[str(i)]

    with tempfile.TemporaryDirectory() as elsewhere:
        os.chdir(elsewhere)
        with open("texts.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(texts) + "\n")
        ours = subprocess.run([os.path.join(ROOT, "build/bin/predict"), "--run", run_dir,
                               "--input", "texts.txt", "--threads", "1", "--precision", precision],
                              check=True, capture_output=True, text=True).stdout.splitlines()
        model = AutoPeftModelForSequenceClassification.from_pretrained(
            run_dir, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(run_dir)
    with open(os.path.join(run_dir, "train_config.json"), encoding="utf-8") as f:
        max_length = json.load(f).get("max-length", 128)
    worst, same_labels, agree = 0.0, True, 0
    for text, line in zip(texts, ours):
        enc = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.no_grad():
            p = torch.softmax(model(**enc).logits[0], dim=-1)
        best = int(p.argmax())
        label, prob, _ = line.split("\t", 2)
        same_labels &= label == name(best)
        agree += label == name(best)
        worst = max(worst, abs(float(prob) - float(p[best])))
        if len(texts) <= 20 or label != name(best):
            print(f"{label}\t{prob}\tPEFT: {name(best)}\t{float(p[best]):.4f}\t{text}")
    ok = same_labels and (precision != "fp32" or worst <= 1e-4)
    print(f"{len(texts)} texts, predict --precision {precision} vs PEFT fp32: same label on "
          f"{agree}, max |probability difference|: {worst:.1e}  ->  {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
