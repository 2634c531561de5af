"""Every field of PEFT's LoraConfig, with its default and whether it changes the math.

Writes tests/fixtures/peft/lora_config_fields.json:

  {"peft": "<version>", "fields": [{"name", "default", "changes_math", "example", "why"}, ...]}

"default" is the value LoraConfig().to_dict() holds (what PEFT writes when the field is unused;
runtime_config, never saved, is null). For a field that changes what the adapted model computes
(which layers are adapted, the layer's formula, the base weights or the trained tensors),
"changes_math" is true and "example" is a value that does so; the C++ test feeds that value to
the adapter loader, which must implement it or refuse it. Every field must be classified in
CLASSIFICATION below: a new PEFT version with a new field stops this script until it is.

Run from the repo root:  . .venv/bin/activate && python tools/reference/list_lora_config_fields.py
"""

import dataclasses
import json

import fixture_common as fc  # noqa: F401  (offline settings)

import peft
from peft import LoraConfig

OUT = fc.FIXTURES / "peft" / "lora_config_fields.json"

# name -> (changes the math?, a value that does, why)
CLASSIFICATION = {
    "task_type": (False, None, "selects the model class; the saved head is in modules_to_save"),
    "peft_type": (True, "LOHA", "the adapter method"),
    "auto_mapping": (False, None, "which class to load, for custom models"),
    "peft_version": (False, None, "the PEFT version that wrote the file"),
    "base_model_name_or_path": (False, None, "where the base comes from (the apps decide)"),
    "revision": (False, None, "hub revision of the base model"),
    "inference_mode": (False, None, "whether the adapter trains"),
    "r": (True, 2, "the rank"),
    "target_modules": (True, ["query"], "which layers are adapted"),
    "exclude_modules": (True, ["layer.0.attention.self.query"], "layers not adapted"),
    "lora_alpha": (True, 64, "the scaling alpha / r"),
    "lora_dropout": (True, 0.1, "dropout on the adapter input in training"),
    "fan_in_fan_out": (False, None, "transposed Conv1D weights; PEFT resets it to False for nn.Linear"),
    "bias": (True, "all", "trains (and saves) the biases"),
    "use_rslora": (True, True, "the scaling alpha / sqrt(r)"),
    "modules_to_save": (True, ["classifier"], "modules trained in full and saved"),
    "init_lora_weights": (True, "pissa", "PiSSA/OLoRA/LoftQ/CorDA/... rewrite the base weights"),
    "layers_to_transform": (True, [0], "only these layer indices are adapted"),
    "layers_pattern": (True, ["layer"], "the layer list layers_to_transform indexes"),
    "rank_pattern": (True, {"value": 2}, "per-module rank"),
    "alpha_pattern": (True, {"value": 64}, "per-module alpha"),
    "megatron_config": (True, {"tensor_model_parallel_size": 2}, "Megatron parallel layers"),
    "megatron_core": (False, None, "module name, only used with megatron_config"),
    "trainable_token_indices": (True, [5, 7], "trains some embedding rows"),
    "loftq_config": (True, {"loftq_bits": 4}, "quantises the base weights"),
    "eva_config": (False, None, "initialisation only; the resulting ranks are in rank_pattern"),
    "corda_config": (True, {"cache_file": "x"}, "CorDA rewrites the base weights"),
    "lora_ga_config": (True, {"direction": "ArB2r"}, "LoRA-GA rewrites the base weights"),
    "use_dora": (True, True, "DoRA's magnitude and norm"),
    "velora_config": (True, {"rank": 2}, "VeLoRA's custom backward pass"),
    "alora_invocation_tokens": (True, [5, 6], "the adapter acts only after these tokens"),
    "use_qalora": (True, True, "QALoRA pooling for quantised layers"),
    "qalora_group_size": (False, None, "only used with use_qalora"),
    "monteclora_config": (True, {"n_samples": 2}, "Monte Carlo sampling on the adapters"),
    "layer_replication": (True, [[0, 2], [1, 2]], "repeats base layers"),
    "runtime_config": (False, None, "runtime options, never saved"),
    "lora_bias": (True, True, "a bias on lora_B"),
    "target_parameters": (True, ["weight"], "adapts nn.Parameters instead of modules"),
    "use_bdlora": (True, {"nblocks": 2}, "block-diagonal A or B"),
    "arrow_config": (True, {"top_k": 2}, "routing between adapters"),
    "kasa_config": (True, {"beta": 0.1}, "KaSA's SVD truncation of the base and diagonal"),
    "ensure_weight_tying": (False, None, "ties adapters of tied layers (no tied linears in these encoders)"),
}


def main():
    defaults = LoraConfig().to_dict()
    names = [f.name for f in dataclasses.fields(LoraConfig)]
    unclassified = [n for n in names if n not in CLASSIFICATION]
    assert not unclassified, f"classify these LoraConfig fields first: {unclassified}"
    stale = [n for n in CLASSIFICATION if n not in names]
    assert not stale, f"not LoraConfig fields in peft {peft.__version__}: {stale}"
    fields = []
    for name in names:
        changes_math, example, why = CLASSIFICATION[name]
        default = defaults.get(name)
        fields.append({
            "name": name,
            "default": json.loads(json.dumps(default, default=str)),
            "changes_math": changes_math,
            "example": example,
            "why": why,
        })
    OUT.write_text(json.dumps({"peft": peft.__version__, "fields": fields}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(fc.REPO_ROOT)} ({len(fields)} fields)")


if __name__ == "__main__":
    main()
