// DistilBERT and BERT against transformers on the same weights: the tiny random checkpoints and
// reference outputs in tests/fixtures/ (made by tools/reference/make_model_fixtures.py).
//
// Tolerances: logits, loss and hidden states within 1e-5 absolute (values are O(1); float32
// rounding through 2 layers is ~1e-6). Gradients within 1e-4 of the tensor's largest reference
// magnitude plus 1e-6 absolute: the absolute part covers gradients that are exactly zero in
// exact arithmetic (the attention key bias, whose effect cancels in softmax) and come out of
// both implementations as ~1e-8 rounding noise.
#include <sstream>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "fixture.h"
#include "models/length_chunks.h"
#include "models/pretrained.h"
#include "nn/module.h"

using ag::Tensor;

static void check_model_against_transformers(const std::string& folder) {
  fixture::Reference ref(folder + "/reference.safetensors");
  auto model = ag::models::from_pretrained(fixture::path(folder));
  model->eval();  // dropout off, as the fixture was made
  auto in = fixture::batch(ref);

  fixture::check_close("last_hidden_state", model->last_hidden_state(in),
                       ref.tensor("last_hidden_state"), 0, 1e-5);
  Tensor logits = model->forward(in);
  fixture::check_close("logits", logits, ref.tensor("logits"), 0, 1e-5);
  Tensor loss = ag::cross_entropy(logits, ref.indices("labels"));
  CHECK(std::abs(loss.item() - ref.tensor("loss").item()) <= 1e-5);

  loss.backward();
  int checked = 0;
  for (auto& [name, p] : model->named_parameters()) {
    REQUIRE(ref.has("grad." + name));
    REQUIRE(p.grad().defined());
    fixture::check_close("grad." + name, p.grad(), ref.tensor("grad." + name), 1e-4, 1e-6);
    ++checked;
  }
  CHECK(checked == int(model->named_parameters().size()));
}

TEST_CASE("DistilBERT logits, loss and every gradient match transformers") {
  check_model_against_transformers("tiny-distilbert");
}

TEST_CASE("BERT logits, loss and every gradient match transformers") {
  check_model_against_transformers("tiny-bert");
}

TEST_CASE("a base DistilBERT checkpoint (no head, no prefix) loads with a fresh head") {
  std::ostringstream notices;
  ag::models::LoadOptions options;
  options.notices = &notices;
  auto model = ag::models::from_pretrained(fixture::path("base-distilbert"), options);
  model->eval();
  CHECK(notices.str().find("newly initialised: pre_classifier.weight") != std::string::npos);
  fixture::Reference ref("tiny-distilbert/reference.safetensors");
  fixture::check_close("last_hidden_state", model->last_hidden_state(fixture::batch(ref)),
                       ref.tensor("last_hidden_state"), 0, 1e-5);
}

TEST_CASE("parameter names are the Hugging Face checkpoint keys") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  auto names = model->named_parameters();
  CHECK(names.front().first == "distilbert.embeddings.word_embeddings.weight");
  bool found = false;
  for (auto& [n, t] : names) found = found || n == "distilbert.transformer.layer.1.ffn.lin2.bias";
  CHECK(found);
  CHECK(names.back().first == "classifier.bias");
}

TEST_CASE("the distilbert-base-uncased preset with 2 labels has 66,955,010 parameters") {
  // The preset is shapes only: the count needs no download and touches no weight memory.
  auto model = ag::models::from_pretrained("distilbert-base-uncased",
                                           {.num_labels = 2, .skip_weights = true});
  CHECK(ag::nn::count_parameters(*model).total == 66955010);
  auto bert =
      ag::models::from_pretrained("bert-base-uncased", {.num_labels = 2, .skip_weights = true});
  CHECK(ag::nn::count_parameters(*bert).total ==
        109483778);  // transformers' count for BERT-base + 2-label head
}

TEST_CASE("train() and eval() switch the mode only; freeze() switches trainability only") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::freeze(*model);
  model->train();
  CHECK(ag::nn::count_parameters(*model).trainable == 0);
  CHECK(model->is_training());
  model->find_module("classifier")->parameter("weight").set_requires_grad(true);
  model->eval();
  CHECK(ag::nn::count_parameters(*model).trainable == 3 * 32);
  CHECK_FALSE(model->find_module("distilbert.transformer.layer.0")->is_training());
}

TEST_CASE("inference in length-sorted chunks gives the padded batch's logits") {
  for (const char* folder : {"tiny-distilbert", "tiny-bert"}) {
    INFO(folder);
    auto model = ag::models::from_pretrained(fixture::path(folder));
    model->eval();
    // 10 rows padded to 12 positions, real lengths 10 9 9 8 7 5 5 4 3 2 in a shuffled order.
    const std::vector<int64_t> lengths = {5, 10, 2, 9, 7, 3, 9, 4, 8, 5};
    const int64_t B = int64_t(lengths.size()), T = 12;
    ag::models::EncoderInput in{{{B, T}, std::vector<int32_t>(B * T, 0)},
                                {{B, T}, std::vector<int32_t>(B * T, 0)},
                                {{B, T}, std::vector<int32_t>(B * T, 0)}};
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < lengths[b]; ++t) {
        in.input_ids.values[b * T + t] = int32_t(1 + (7 * b + 3 * t) % 90);
        in.attention_mask.values[b * T + t] = 1;
        in.token_type_ids.values[b * T + t] = t > lengths[b] / 2;
      }
    // Sorted by length and cut where a row is <= 3/4 of its chunk's longest (>= 2 rows each):
    // [10 9 9 8] [7 5] [5 4] [3 2], as row indices.
    const std::vector<std::vector<int64_t>> expected = {{1, 3, 6, 8}, {4, 0}, {9, 7}, {5, 2}};
    CHECK(ag::models::length_chunks(in, 2) == expected);

    ag::NoGradGuard no_grad;
    const Tensor padded = model->forward(in);
    const Tensor chunked = ag::models::forward_in_length_chunks(*model, in);
    REQUIRE(chunked.shape() == padded.shape());
    // Equal up to the order of float sums over masked (zero) terms.
    fixture::check_close("logits", chunked, padded, 0, 1e-6);
  }
}
