"""Every key of a BERT or DistilBERT config.json, with its default and whether it changes the math.

Writes tests/fixtures/models/config_keys.json:

  {"transformers": "<version>",
   "models": {"bert": [{"name", "default", "changes_math", "example", "why", "source"}, ...],
              "distilbert": [...]}}

The keys are those of BertConfig().to_dict() and DistilBertConfig().to_dict() (what transformers
writes), source "transformers"; plus keys older transformers (4.x) wrote into config.json files
that are still on the Hub, source "transformers 4", with their 4.x defaults; plus the keys
transformers also accepts by another name (num_labels; DistilBERT's attribute_map aliases),
source "alias". For a key that changes what the classifier computes (its shapes, its layers,
its loss), "changes_math" is true and "example" is a value that does so; the C++ test
(tests/test_model_config.cpp) feeds that value to the config reader, which must implement it
(the config it reads changes) or refuse it (FormatError naming config.json, the key and the
value). Every key must be classified in the tables below: a new transformers version with a new
key stops this script until it is.

Run from the repo root:  . .venv/bin/activate && python tools/reference/list_model_config_keys.py
"""

import json

import fixture_common as fc  # noqa: F401  (offline settings)

import transformers
from transformers import BertConfig, DistilBertConfig

OUT = fc.FIXTURES / "models" / "config_keys.json"

# Keys every PretrainedConfig writes: name -> (changes the math?, a value that does, why)
COMMON = {
    "transformers_version": (False, None, "the transformers version that wrote the file"),
    "architectures": (False, None, "the class that saved it; the apps always build the sequence classifier and the tensors decide"),
    "output_hidden_states": (False, None, "what the forward pass returns"),
    "output_attentions": (False, None, "what the forward pass returns"),
    "return_dict": (False, None, "what the forward pass returns"),
    "dtype": (False, None, "storage precision; adaptgrad reads every weight as float32"),
    "chunk_size_feed_forward": (False, None, "computes the feed-forward in chunks: the same result"),
    "is_encoder_decoder": (True, True, "an encoder-decoder model"),
    "id2label": (True, {"0": "neg", "1": "pos", "2": "neutral"}, "the label names and their number"),
    "label2id": (False, None, "the inverse of id2label"),
    "problem_type": (True, "multi_label_classification", "the loss: regression (MSE) or multi-label (BCE) instead of cross-entropy"),
    "vocab_size": (True, 100, "rows of the word embedding table"),
    "max_position_embeddings": (True, 128, "rows of the position embedding table"),
    "initializer_range": (True, 0.05, "std of a freshly initialised head"),
    "pad_token_id": (True, 1, "the word embedding row that is zero and gets no gradient"),
    "bos_token_id": (False, None, "not read by the encoder (checked to be inside the vocabulary)"),
    "eos_token_id": (False, None, "not read by the encoder (checked to be inside the vocabulary)"),
    "tie_word_embeddings": (False, None, "ties a masked-LM head to the word embeddings; a classifier has none"),
    "_name_or_path": (False, None, "where the model was loaded from"),
    "model_type": (True, None, "which encoder (the example is the other model type)"),
}

BERT = {
    "hidden_size": (True, 384, "the width"),
    "num_hidden_layers": (True, 2, "the number of layers"),
    "num_attention_heads": (True, 6, "the number of heads"),
    "intermediate_size": (True, 1024, "the feed-forward width"),
    "hidden_act": (True, "relu", "the feed-forward activation"),
    "hidden_dropout_prob": (True, 0.2, "dropout on embeddings and layer outputs"),
    "attention_probs_dropout_prob": (True, 0.2, "dropout on attention probabilities"),
    "type_vocab_size": (True, 1, "rows of the token type embedding table"),
    "layer_norm_eps": (True, 1e-05, "LayerNorm's epsilon"),
    "use_cache": (False, None, "caches keys and values of a decoder"),
    "classifier_dropout": (True, 0.3, "dropout before the classifier (null: hidden_dropout_prob)"),
    "is_decoder": (True, True, "causal attention mask"),
    "add_cross_attention": (True, True, "cross-attention layers"),
}

DISTILBERT = {
    "sinusoidal_pos_embds": (True, True, "fixed sinusoidal position table"),
    "n_layers": (True, 2, "the number of layers"),
    "n_heads": (True, 6, "the number of heads"),
    "dim": (True, 384, "the width"),
    "hidden_dim": (True, 1024, "the feed-forward width"),
    "dropout": (True, 0.2, "dropout on embeddings and layer outputs"),
    "attention_dropout": (True, 0.2, "dropout on attention probabilities"),
    "activation": (True, "relu", "the feed-forward activation"),
    "qa_dropout": (False, None, "dropout of the question-answering head only"),
    "seq_classif_dropout": (True, 0.3, "dropout before the classifier"),
}

# Keys transformers 4.x wrote (or Hub configs still carry) that 5.x no longer has:
# name -> (4.x default, changes the math?, a value that does, why, models or None for both)
GENERATION = ["max_length", "min_length", "do_sample", "early_stopping", "num_beams",
              "num_beam_groups", "diversity_penalty", "temperature", "top_k", "top_p", "typical_p",
              "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
              "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences",
              "output_scores", "return_dict_in_generate", "forced_bos_token_id",
              "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
              "suppress_tokens", "begin_suppress_tokens"]
GENERATION_DEFAULTS = {"max_length": 20, "min_length": 0, "do_sample": False, "early_stopping": False,
                       "num_beams": 1, "num_beam_groups": 1, "diversity_penalty": 0.0,
                       "temperature": 1.0, "top_k": 50, "top_p": 1.0, "typical_p": 1.0,
                       "repetition_penalty": 1.0, "length_penalty": 1.0, "no_repeat_ngram_size": 0,
                       "encoder_no_repeat_ngram_size": 0, "bad_words_ids": None,
                       "num_return_sequences": 1, "output_scores": False,
                       "return_dict_in_generate": False, "forced_bos_token_id": None,
                       "forced_eos_token_id": None, "remove_invalid_values": False,
                       "exponential_decay_length_penalty": None, "suppress_tokens": None,
                       "begin_suppress_tokens": None}
LEGACY = {
    "position_embedding_type": ("absolute", True, "relative_key", "relative position scores in attention", ["bert"]),
    "pruned_heads": ({}, True, {"0": [0]}, "removes attention heads", None),
    "gradient_checkpointing": (False, False, None, "recomputes activations in backward: the same result", None),
    "torch_dtype": (None, False, None, "storage precision (5.x: dtype)", None),
    "use_bfloat16": (False, False, None, "storage precision", None),
    "torchscript": (False, False, None, "export setting", None),
    "tf_legacy_loss": (False, False, None, "TensorFlow loss only", None),
    "output_past": (True, False, None, "caching in old versions", ["distilbert"]),
    "tie_weights_": (True, False, None, "ties a masked-LM head (old DistilBERT configs)", ["distilbert"]),
    "finetuning_task": (None, False, None, "a name", None),
    "tokenizer_class": (None, False, None, "which tokenizer class to load", None),
    "prefix": (None, False, None, "text generation prompt prefix", None),
    "task_specific_params": (None, False, None, "pipeline settings", None),
    "sep_token_id": (None, False, None, "not read by the encoder (checked to be inside the vocabulary)", None),
    "decoder_start_token_id": (None, False, None, "encoder-decoder generation only", None),
    "cross_attention_hidden_size": (None, False, None, "only with add_cross_attention", None),
    "tie_encoder_decoder": (False, False, None, "encoder-decoder models only", None),
}
for name in GENERATION:
    LEGACY[name] = (GENERATION_DEFAULTS[name], False, None, "text generation only", None)

# Other names transformers accepts for a key: name -> (changes math, example, why, models)
ALIASES = {
    "num_labels": (True, 3, "PretrainedConfig(num_labels=...): the number of labels", None),
    "hidden_size": (True, 384, "attribute_map alias of dim", ["distilbert"]),
    "num_attention_heads": (True, 6, "attribute_map alias of n_heads", ["distilbert"]),
    "num_hidden_layers": (True, 2, "attribute_map alias of n_layers", ["distilbert"]),
}


def entries(model_type, config, own):
    classification = {**COMMON, **own}
    defaults = config.to_dict()
    unclassified = [k for k in defaults if k not in classification]
    assert not unclassified, f"classify these {model_type} config keys first: {unclassified}"
    stale = [k for k in classification if k not in defaults]
    assert not stale, f"not {model_type} config keys in transformers {transformers.__version__}: {stale}"
    other = "distilbert" if model_type == "bert" else "bert"
    out = []
    for name, default in defaults.items():
        changes_math, example, why = classification[name]
        if name == "model_type":
            example = other
        out.append({"name": name, "default": default, "changes_math": changes_math,
                    "example": example, "why": why, "source": "transformers"})
    for name, (default, changes_math, example, why, models) in LEGACY.items():
        if models is None or model_type in models:
            assert name not in defaults, f"{name} is a {model_type} key again: move it up"
            out.append({"name": name, "default": default, "changes_math": changes_math,
                        "example": example, "why": why, "source": "transformers 4"})
    for name, (changes_math, example, why, models) in ALIASES.items():
        if models is None or model_type in models:
            out.append({"name": name, "default": None, "changes_math": changes_math,
                        "example": example, "why": why, "source": "alias"})
    return json.loads(json.dumps(out, default=str))


def main():
    models = {"bert": entries("bert", BertConfig(), BERT),
              "distilbert": entries("distilbert", DistilBertConfig(), DISTILBERT)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"transformers": transformers.__version__, "models": models}, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(fc.REPO_ROOT)} ({len(models['bert'])} bert keys, "
          f"{len(models['distilbert'])} distilbert keys)")


if __name__ == "__main__":
    main()
