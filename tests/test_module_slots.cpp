// Models call their children through typed slots (nn::Module::register_module(name, &slot)),
// not by name at every call. These tests swap modules in by name, as adapters are, and check
// by exact values that forward then calls the new module, and that a module the slot cannot
// hold is refused with the name of the slot.
#include <string>

#include "core/autograd.h"
#include "core/errors.h"
#include "fixture.h"
#include "models/pretrained.h"
#include "nn/layers.h"
#include "nn/module.h"

using ag::Tensor;

namespace {

// A LayerNorm whose output is `value` everywhere (weight 0, bias `value`).
std::shared_ptr<ag::nn::LayerNorm> constant_norm(int64_t dim, float value) {
  auto norm = std::make_shared<ag::nn::LayerNorm>(dim, 1e-12f);
  for (int64_t i = 0; i < dim; ++i) {
    norm->weight.data()[i] = 0.0f;
    norm->bias.data()[i] = value;
  }
  return norm;
}

// A Linear whose output is its bias (weight 0): (0.25, -0.5).
std::shared_ptr<ag::nn::Linear> constant_head(int64_t in) {
  auto head = std::make_shared<ag::nn::Linear>(in, 2);
  for (int64_t i = 0; i < head->weight.numel(); ++i) head->weight.data()[i] = 0.0f;
  head->bias.data()[0] = 0.25f;
  head->bias.data()[1] = -0.5f;
  return head;
}

void replace(ag::nn::Module& model, const std::string& path, std::shared_ptr<ag::nn::Module> m) {
  const size_t dot = path.rfind('.');
  ag::nn::Module* parent = model.find_module(dot == std::string::npos ? "" : path.substr(0, dot));
  REQUIRE(parent != nullptr);
  parent->replace_module(path.substr(dot + 1), std::move(m));
}

void check_all_equal(const Tensor& t, float value) {
  int64_t wrong = 0;
  for (int64_t i = 0; i < t.numel(); ++i) wrong += t.data()[i] != value;
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("a module swapped in by name is the one forward calls (DistilBERT and BERT)") {
  struct Case {
    const char* folder;
    const char* last_norm;  // the last layer's output LayerNorm
  };
  for (const Case& c : {Case{"tiny-distilbert", "distilbert.transformer.layer.1.output_layer_norm"},
                        Case{"tiny-bert", "bert.encoder.layer.1.output.LayerNorm"}}) {
    INFO(c.folder);
    fixture::Reference ref(std::string(c.folder) + "/reference.safetensors");
    auto model = ag::models::from_pretrained(fixture::path(c.folder));
    model->eval();
    const auto in = fixture::batch(ref);
    const int64_t D = model->config().hidden;
    ag::NoGradGuard no_grad;

    // The last LayerNorm outputs 0.75 everywhere, so the last hidden state is 0.75 exactly.
    replace(*model, c.last_norm, constant_norm(D, 0.75f));
    const Tensor hidden = model->last_hidden_state(in);
    REQUIRE(hidden.numel() > 0);
    check_all_equal(hidden, 0.75f);

    // A head whose weight is zero gives its bias as every row's logits.
    replace(*model, "classifier", constant_head(D));
    const Tensor logits = model->forward(in);
    REQUIRE(logits.shape() == ag::Shape{in.batch(), 2});
    for (int64_t b = 0; b < in.batch(); ++b) {
      CHECK(logits.data()[2 * b] == 0.25f);
      CHECK(logits.data()[2 * b + 1] == -0.5f);
    }
  }
}

TEST_CASE("replace_module refuses a module its slot cannot hold, and names the slot") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::Module* block = model->find_module("distilbert.transformer.layer.0");
  REQUIRE(block != nullptr);
  const int64_t D = model->config().hidden;
  std::string message;
  try {
    block->replace_module("sa_layer_norm", std::make_shared<ag::nn::Linear>(D, D));
  } catch (const ag::Error& e) {
    message = e.what();
  }
  CHECK(message == "replace_module: 'sa_layer_norm' in TransformerBlock cannot be a Linear");
  // The tree is unchanged: the slot and the child are still the LayerNorm.
  CHECK(block->child("sa_layer_norm")->type_name() == "LayerNorm");
}
