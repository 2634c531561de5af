"""Build tiny random DistilBERT and BERT classifiers and record a forward + backward pass.

Writes (relative to the repo root):
  tests/fixtures/tiny-distilbert/{config.json, model.safetensors, reference.safetensors}
  tests/fixtures/tiny-bert/{config.json, model.safetensors, reference.safetensors}
  tests/fixtures/base-distilbert/{config.json, model.safetensors}   (DistilBertModel, no head)

reference.safetensors holds the batch, logits (B, num_labels), loss (shape [], i.e. a 0-dim
scalar), last_hidden_state of the encoder (B, T, H) and `grad.<name>` for every parameter of the
model (names exactly as model.named_parameters() gives them).

Run from the repo root:  . .venv/bin/activate && python tools/reference/make_model_fixtures.py
"""

import fixture_common as fc  # sets HF_HUB_OFFLINE before transformers is imported

import torch
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DistilBertConfig,
    DistilBertForSequenceClassification,
)

SCRIPT = "make_model_fixtures.py"

# initializer_range 0.2 (instead of HF's 0.02) so that attention scores are far from uniform
# and a wrong softmax scale or mask shows up clearly in the logits.
DISTILBERT_CONFIG = dict(
    vocab_size=101, dim=32, n_layers=2, n_heads=4, hidden_dim=48, max_position_embeddings=64,
    sinusoidal_pos_embds=False, activation="gelu", num_labels=3, initializer_range=0.2,
)
BERT_CONFIG = dict(
    vocab_size=101, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
    max_position_embeddings=64, type_vocab_size=2, num_labels=3, hidden_act="gelu", initializer_range=0.2,
)


def perturb_norms_and_biases(model, seed):
    """HF initialises LayerNorm to (1, 0) and biases to 0; make them random so bugs in them show."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            is_norm = "LayerNorm" in name or "layer_norm" in name
            if is_norm and name.endswith(".weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def build_distilbert():
    torch.manual_seed(0)
    config = DistilBertConfig(**DISTILBERT_CONFIG, attn_implementation="eager")
    model = DistilBertForSequenceClassification(config)
    perturb_norms_and_biases(model, seed=100)
    return model


def build_bert():
    torch.manual_seed(1)
    config = BertConfig(**BERT_CONFIG, attn_implementation="eager")
    model = BertForSequenceClassification(config)
    perturb_norms_and_biases(model, seed=101)
    return model


def reference_pass(model, base, batch):
    """Forward with labels, backward, and collect everything the C++ test compares against.

    eval() turns dropout off; gradients stay enabled (eval() does not touch requires_grad).
    """
    model.eval()
    model.zero_grad(set_to_none=True)
    out = model(**fc.model_inputs(batch), labels=batch["labels"])
    out.loss.backward()
    with torch.no_grad():
        hidden = base(**fc.model_inputs(batch)).last_hidden_state

    # The HF loss is CrossEntropyLoss(reduction="mean"): a 0-dim tensor. Double-check it.
    expected = torch.nn.functional.cross_entropy(out.logits, batch["labels"])
    assert out.loss.shape == torch.Size([]) and torch.allclose(out.loss, expected)

    tensors = dict(batch)
    tensors["logits"] = out.logits
    tensors["loss"] = out.loss  # shape [] (0-dim scalar)
    tensors["last_hidden_state"] = hidden
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        tensors[f"grad.{name}"] = p.grad
    return tensors


def save_model_fixture(model, base, folder, with_token_types, model_type):
    """Write config.json + model.safetensors (HF save_pretrained) and reference.safetensors.

    Call this before any other forward pass of the model: HF writes problem_type into the shared
    config during the first forward with labels, and config.json should be the config we built.
    """
    folder = fc.FIXTURES / folder
    model.save_pretrained(folder)
    batch = fc.make_batch(with_token_types)
    tensors = reference_pass(model, base, batch)
    meta = fc.fixture_metadata(
        SCRIPT,
        model_type=model_type,
        loss_shape="[] (0-dim scalar, CrossEntropyLoss mean over the batch)",
        mode="model.eval(): dropout off, gradients on",
        attn_implementation="eager",
    )
    fc.write_fixture(folder / "reference.safetensors", tensors, meta)


def main():
    fc.setup_torch()

    distilbert = build_distilbert()
    # The same encoder saved without the classification head, as DistilBertModel. Its keys have
    # no "distilbert." prefix (embeddings.word_embeddings.weight, transformer.layer.0....).
    # Saved first, while the config has no problem_type yet (see save_model_fixture).
    distilbert.distilbert.save_pretrained(fc.FIXTURES / "base-distilbert")
    print("wrote tests/fixtures/base-distilbert/")
    save_model_fixture(distilbert, distilbert.distilbert, "tiny-distilbert", False, "distilbert")

    bert = build_bert()
    save_model_fixture(bert, bert.bert, "tiny-bert", True, "bert")


if __name__ == "__main__":
    main()
