// LoRA and DoRA against PEFT 0.21 on the same weights (tests/fixtures/peft/, made by
// tools/reference/make_peft_fixtures.py), plus the properties PEFT users rely on.
//
// Tolerances: logits and loss 1e-5 absolute (O(1) values through 2 layers in float32);
// gradients 1e-4 of the tensor's largest reference magnitude + 1e-6 absolute (as in
// test_models.cpp); merged vs unmerged logits 1e-5.
#include <nlohmann/json.hpp>

#include "core/autograd.h"
#include "core/errors.h"
#include "core/ops.h"
#include "core/rng.h"
#include "fixture.h"
#include "models/pretrained.h"
#include "nn/dora.h"
#include "nn/inject.h"
#include "nn/lora.h"
#include "nn/optim.h"

using ag::Tensor;

static ag::nn::LoraConfig config_from(const fixture::Reference& ref) {
  auto& meta = ref.metadata();
  ag::nn::LoraConfig c;
  c.r = std::stoi(meta.at("r"));
  c.alpha = std::stof(meta.at("lora_alpha"));
  c.dropout = 0.0f;
  c.targets = nlohmann::json::parse(meta.at("target_modules")).get<std::vector<std::string>>();
  c.use_dora = meta.at("use_dora") == "true" || meta.at("use_dora") == "True";
  const bool rs = meta.at("use_rslora") == "true" || meta.at("use_rslora") == "True";
  c.scaling = rs ? ag::nn::LoraScaling::kAlphaOverSqrtR : ag::nn::LoraScaling::kAlphaOverR;
  CHECK(c.scaling_factor() == doctest::Approx(std::stof(meta.at("scaling"))));
  return c;
}

// Loads the tiny model, applies the case's adapter and copies PEFT's adapter values in.
static std::shared_ptr<ag::models::SequenceClassifier> adapted_model(
    const std::string& model_name, const fixture::Reference& ref) {
  auto model = ag::models::from_pretrained(fixture::path("tiny-" + model_name));
  ag::nn::apply_lora(*model, config_from(ref));
  for (auto& [name, p] : model->named_trainable_parameters()) {
    REQUIRE(ref.has("param." + name));
    p.copy_(ref.tensor("param." + name));
  }
  return model;
}

TEST_CASE("LoRA, rsLoRA and DoRA logits, loss and adapter gradients match PEFT") {
  for (std::string model_name : {"distilbert", "bert"})
    for (std::string c : {"lora_qv", "lora_all", "rslora_qv", "dora_qv", "dora_all"}) {
      INFO(model_name << " " << c);
      fixture::Reference ref("peft/" + model_name + "_" + c + ".safetensors");
      auto model = adapted_model(model_name, ref);
      model->eval();
      auto in = fixture::batch(ref);
      Tensor logits = model->forward(in);
      fixture::check_close("logits", logits, ref.tensor("logits"), 0, 1e-5);
      Tensor loss = ag::cross_entropy(logits, ref.indices("labels"));
      CHECK(std::abs(loss.item() - ref.tensor("loss").item()) <= 1e-5);
      loss.backward();
      int checked = 0;
      for (auto& [name, p] : model->named_trainable_parameters()) {
        REQUIRE(p.grad().defined());
        fixture::check_close("grad." + name, p.grad(), ref.tensor("grad." + name), 1e-4, 1e-6);
        ++checked;
      }
      // Every adapter tensor PEFT has, and no other, trains here.
      int expected = 0;
      for (auto& t : ref.file().tensors()) expected += t.name.rfind("grad.", 0) == 0;
      CHECK(checked == expected);

      // Merging folds the adapter into W; the output is unchanged, and unmerge restores it.
      ag::NoGradGuard no_grad;
      ag::nn::merge_adapters(*model);
      fixture::check_close("merged logits", model->forward(in), ref.tensor("merged_logits"), 0,
                           1e-5);
      ag::nn::unmerge_adapters(*model);
      fixture::check_close("unmerged logits", model->forward(in), logits, 0, 1e-5);
    }
}

TEST_CASE("single LoRA/DoRA layers match PEFT, including DoRA's dropout formula") {
  fixture::Reference ref("peft/layer_cases.safetensors");
  for (std::string c : {"lora_bias", "lora_nobias", "dora_bias", "dora_nobias", "dora_dropout_bias",
                        "lora_dropout_bias"}) {
    INFO(c);
    const std::string p = c + ".";
    Tensor w = ref.tensor(p + "weight");
    const bool has_bias = ref.has(p + "bias");
    auto base = std::make_shared<ag::nn::Linear>(w.size(1), w.size(0), has_bias);
    base->weight.copy_(w);
    if (has_bias) base->bias.copy_(ref.tensor(p + "bias"));
    ag::nn::LoraConfig config;
    config.r = 3;
    config.alpha = 6;
    config.use_dora = c.rfind("dora", 0) == 0;
    config.dropout = ref.has(p + "dropout_mask") ? 0.3f : 0.0f;
    const auto adapter = ag::nn::make_adapter(base, config);
    ag::nn::LoraLinear& layer = *adapter;
    layer.lora_A().copy_(ref.tensor(p + "lora_A"));
    layer.lora_B().copy_(ref.tensor(p + "lora_B"));
    if (config.use_dora) layer.magnitude().copy_(ref.tensor(p + "magnitude"));
    layer.train();
    if (config.use_dora)
      fixture::check_close("n", dynamic_cast<ag::nn::DoraLinear&>(layer).weight_norms(),
                           ref.tensor(p + "weight_norm"), 1e-6, 0);

    Tensor x = ref.tensor(p + "x");
    x.set_requires_grad(true);
    // The fixture's dropout mask (PEFT ran with it) is the one this layer draws after
    // manual_seed(7): tools/reference/make_peft_fixtures.py computes adaptgrad's counter-based
    // mask for that seed, so the layer runs here exactly as in training.
    ag::manual_seed(7);
    Tensor y = layer.forward(x);
    fixture::check_close("y", y, ref.tensor(p + "y"), 0, 1e-5);
    y.backward(ref.tensor(p + "g"));
    fixture::check_close("grad_x", x.grad(), ref.tensor(p + "grad_x"), 1e-4, 1e-6);
    fixture::check_close("grad_lora_A", layer.lora_A().grad(), ref.tensor(p + "grad_lora_A"), 1e-4,
                         1e-6);
    fixture::check_close("grad_lora_B", layer.lora_B().grad(), ref.tensor(p + "grad_lora_B"), 1e-4,
                         1e-6);
    if (config.use_dora)
      fixture::check_close("grad_magnitude", layer.magnitude().grad(),
                           ref.tensor(p + "grad_magnitude"), 1e-4, 1e-6);
    CHECK_FALSE(base->weight.grad().defined());
  }
}

TEST_CASE(
    "an adapter told its batch's first row drops on a shard what the whole batch drops there") {
  // Data-parallel training: a process holding rows 2..4 of a batch of 6 passes its first row
  // to the adapters, which must then draw the mask entries one process draws for those rows.
  for (std::string method : {"lora", "dora", "dora-branch", "dora-input"}) {
    INFO(method);
    ag::nn::LoraConfig config;
    config.r = 2;
    config.dropout = 0.3f;
    config.use_dora = method != "lora";
    config.dora_branch_dropout = method == "dora-branch";
    if (method == "dora-input") config.magnitude_axis = ag::nn::MagnitudeAxis::kInput;
    auto base = std::make_shared<ag::nn::Linear>(4, 3, true);
    const auto layer = ag::nn::make_adapter(base, config);
    ag::fill_uniform(layer->lora_B(), -1.0f, 1.0f, 5);  // B = 0 would hide the branch
    layer->train();
    const Tensor x = Tensor::empty({6, 5, 4}), part_x = Tensor::empty({3, 5, 4});
    ag::fill_uniform(x, -1.0f, 1.0f, 3);
    std::copy(x.data() + 2 * 20, x.data() + 5 * 20, part_x.data());  // rows 2..4
    ag::manual_seed(7);  // the same dropout seed for every forward
    const Tensor whole = layer->forward(x);
    const float* expected = whole.data() + 2 * 5 * 3;  // the output's rows 2..4
    ag::manual_seed(7);
    const Tensor unshifted = layer->forward(part_x);
    layer->set_batch_first_row(2);
    ag::manual_seed(7);
    const Tensor part = layer->forward(part_x);
    double unshifted_diff = 0;
    for (int64_t i = 0; i < part.numel(); ++i) {
      CHECK(part.data()[i] == doctest::Approx(expected[i]).epsilon(1e-6));
      unshifted_diff =
          std::max(unshifted_diff, double(std::abs(unshifted.data()[i] - expected[i])));
    }
    CHECK(unshifted_diff > 1e-3);  // without its first row the shard draws rows 0..2's mask
  }
}

TEST_CASE("frozen weights cost nothing: no gradient buffer, so no weight-gradient GEMM") {
  fixture::Reference ref("peft/distilbert_lora_qv.safetensors");
  auto model = adapted_model("distilbert", ref);
  Tensor loss = ag::cross_entropy(model->forward(fixture::batch(ref)), ref.indices("labels"));
  loss.backward();
  // A backward computes dW only into the gradient buffer it asks for (Node::grad_for), so a
  // frozen weight without a gradient had no weight-gradient GEMM.
  int frozen = 0;
  for (auto& [name, p] : model->named_parameters())
    if (!p.requires_grad()) {
      CHECK_MESSAGE(!p.grad().defined(), name);
      ++frozen;
    }
  CHECK(frozen == int(model->named_parameters().size()) - 8);  // 2 layers × q, v × A, B
}

TEST_CASE("the adapted model equals the base model at step 0 (B = 0, m = ‖W‖)") {
  for (bool dora : {false, true}) {
    auto base = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
    auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
    ag::nn::LoraConfig config;
    config.r = 4;
    config.use_dora = dora;
    config.targets = {"q_lin", "v_lin", "lin1", "lin2"};
    ag::nn::apply_lora(*model, config);
    base->eval();
    model->eval();
    fixture::Reference ref("tiny-distilbert/reference.safetensors");
    fixture::check_close("logits", model->forward(fixture::batch(ref)),
                         base->forward(fixture::batch(ref)), 0, 1e-5);
  }
}

TEST_CASE("each DoRA magnitude changes after one optimizer step") {
  fixture::Reference ref("peft/distilbert_dora_qv.safetensors");
  auto model = adapted_model("distilbert", ref);
  model->train();
  std::vector<std::pair<std::string, std::vector<float>>> before;
  for (auto& [name, p] : model->named_trainable_parameters())
    if (name.find("magnitude") != std::string::npos) before.emplace_back(name, p.to_vector());
  REQUIRE(before.size() == 4);
  ag::nn::AdamW opt(model->trainable_parameters(), {.lr = 1e-3f});
  ag::cross_entropy(model->forward(fixture::batch(ref)), ref.indices("labels")).backward();
  opt.step();
  auto params = model->state_dict();
  for (auto& [name, values] : before) {
    std::vector<float> after = params.at(name).to_vector();
    int changed = 0;
    for (size_t i = 0; i < values.size(); ++i) changed += after[i] != values[i];
    CHECK_MESSAGE(changed == int(values.size()), name);  // every entry of every magnitude moved
  }
}

TEST_CASE("bad adapter settings are one clear error") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  auto message = [&](ag::nn::LoraConfig c) {
    try {
      ag::nn::apply_lora(*model, c);
    } catch (const ag::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  ag::nn::LoraConfig c;
  c.r = 0;
  CHECK(message(c).find("rank r must be positive") != std::string::npos);
  c.r = 33;  // the layers are 32 x 32
  CHECK(message(c).find("exceeds min(in, out) = 32") != std::string::npos);
  c = {};
  c.alpha = -1;
  CHECK(message(c).find("alpha") != std::string::npos);
  c = {};
  c.dropout = 1.0f;
  CHECK(message(c).find("dropout") != std::string::npos);
  c = {};
  c.targets = {"q_lin", "query"};
  CHECK(message(c).find("'query' matches no Linear") != std::string::npos);
}
