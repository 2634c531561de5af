// Adapters in PEFT's folder format: a PEFT-saved adapter loads here and reproduces PEFT's
// logits (1e-5); an adapter saved here loads back bit for bit; bad adapters are clear errors.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/io/read_file.h"
#include "core/io/safetensors.h"
#include "core/ops.h"
#include "fixture.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"

namespace fs = std::filesystem;
using ag::Tensor;

TEST_CASE("a DoRA adapter saved by PEFT (with its modules_to_save) reproduces PEFT's logits") {
  const std::string folder = fixture::path("peft/saved-adapter-distilbert");
  fixture::Reference ref("peft/saved-adapter-distilbert/reference.safetensors");
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  std::ostringstream notices;
  ag::nn::LoraConfig config = ag::nn::load_adapter(*model, folder, &notices);
  CHECK(config.use_dora);
  CHECK(config.r == 4);
  CHECK(notices.str().find("'score' is not in this model") != std::string::npos);
  model->eval();
  fixture::check_close("logits", model->forward(fixture::batch(ref)), ref.tensor("logits"), 0,
                       1e-5);
}

TEST_CASE("save_adapter then load_adapter restores every adapter tensor exactly") {
  fixture::Reference ref("peft/distilbert_dora_qv.safetensors");
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::LoraConfig config;
  config.r = 4;
  config.alpha = 8;
  config.use_dora = true;
  config.modules_to_save = {"classifier"};
  ag::nn::apply_lora(*model, config);
  for (auto& [name, p] : model->named_trainable_parameters())
    if (ref.has("param." + name)) p.copy_(ref.tensor("param." + name));
  model->find_module("classifier")->parameter("bias").fill_(0.25f);
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_adapter";
  fs::remove_all(dir);
  ag::nn::save_adapter(*model, config, dir.string(), "tiny-distilbert");

  // The file has PEFT's keys.
  auto file = ag::safetensors::File::open((dir / "adapter_model.safetensors").string());
  CHECK(file.contains(
      "base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.weight"));
  CHECK(file.contains(
      "base_model.model.distilbert.transformer.layer.1.attention.v_lin.lora_magnitude_vector"));
  CHECK(file.contains("base_model.model.classifier.bias"));
  CHECK(file.contains("base_model.model.pre_classifier.weight"));  // PEFT's suffix rule
  CHECK(file.tensors().size() == 4 * 3 + 4);

  auto again = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::load_adapter(*again, dir.string());
  auto a = model->named_trainable_parameters(), b = again->named_trainable_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.to_vector() == b[i].second.to_vector());
  }
  model->eval();
  again->eval();
  Tensor logits = model->forward(fixture::batch(ref));
  CHECK(logits.to_vector() == again->forward(fixture::batch(ref)).to_vector());
  // ADAPTGRAD_KEEP_ADAPTER=DIR keeps the adapter and our logits for
  // tools/reference/check_adapter_in_peft.py, which loads it in PEFT and compares.
  if (const char* keep = std::getenv("ADAPTGRAD_KEEP_ADAPTER")) {
    fs::remove_all(keep);
    fs::copy(dir, keep);
    ag::safetensors::save_f32(std::string(keep) + "/adaptgrad_logits.safetensors",
                              {{"logits", logits.shape(), logits.to_vector()}});
  }
  fs::remove_all(dir);
}

TEST_CASE("the tutorial's scaling (s = alpha) is saved as PEFT's lora_alpha = alpha * r") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::LoraConfig config;
  config.r = 4;
  config.alpha = 16;
  config.scaling = ag::nn::LoraScaling::kAlpha;
  ag::nn::apply_lora(*model, config);
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_seed_scaling";
  ag::nn::save_adapter(*model, config, dir.string(), "tiny-distilbert");
  ag::nn::LoraConfig read = ag::nn::read_adapter_config(dir.string());
  CHECK(read.alpha == 64.0f);
  CHECK(read.scaling_factor() == config.scaling_factor());  // both 16
  fs::remove_all(dir);
}

TEST_CASE(
    "an adapter for another model, with wrong shapes, or a broken config is one clear error") {
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_bad_adapter";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy(fixture::path("peft/saved-adapter-distilbert/adapter_config.json"),
           dir / "adapter_config.json");
  fs::copy(fixture::path("peft/saved-adapter-distilbert/adapter_model.safetensors"),
           dir / "adapter_model.safetensors");

  // A BERT model has no q_lin: the adapter's targets match nothing.
  auto bert = ag::models::from_pretrained(fixture::path("tiny-bert"));
  CHECK(fixture::error_message([&] {
          ag::nn::load_adapter(*bert, dir.string());
        }).find("'q_lin' matches no Linear") != std::string::npos);

  // A rank that does not fit the tensors in the file.
  nlohmann::json j = nlohmann::json::parse(std::ifstream(dir / "adapter_config.json"));
  j["r"] = 2;
  std::ofstream(dir / "adapter_config.json") << j.dump();
  auto distil = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  std::string msg = fixture::error_message([&] { ag::nn::load_adapter(*distil, dir.string()); });
  CHECK(msg.find("has shape (4, 32)") != std::string::npos);

  std::ofstream(dir / "adapter_config.json") << "{\"r\": 4";
  CHECK(fixture::error_message([&] {
          ag::nn::read_adapter_config(dir.string());
        }).find("not valid JSON") != std::string::npos);
  std::ofstream(dir / "adapter_config.json") << R"({"r": 4, "lora_alpha": 8})";
  CHECK(fixture::error_message([&] {
          ag::nn::read_adapter_config(dir.string());
        }).find("key \"target_modules\": is missing") != std::string::npos);
  std::ofstream(dir / "adapter_config.json")
      << R"({"r": 4, "lora_alpha": 8, "target_modules": ".*q_lin"})";
  CHECK(fixture::error_message([&] { ag::nn::read_adapter_config(dir.string()); }).find("regex") !=
        std::string::npos);
  std::ofstream(dir / "adapter_config.json")
      << R"({"r": -1, "lora_alpha": 8, "target_modules": ["q_lin"]})";
  CHECK(fixture::error_message([&] {
          ag::nn::read_adapter_config(dir.string());
        }).find("rank r must be positive") != std::string::npos);
  CHECK(fixture::error_message([&] {
          ag::nn::read_adapter_config("/nonexistent");
        }).find("not found") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a NaN or Inf in an adapter or model tensor is an error naming file and tensor") {
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_nonfinite";
  fs::remove_all(dir);
  fs::create_directories(dir / "adapter");
  fs::create_directories(dir / "model");
  const std::string adapter_from = fixture::path("peft/saved-adapter-distilbert");
  fs::copy(adapter_from + "/adapter_config.json", dir / "adapter" / "adapter_config.json");
  const std::string lora_b =
      "base_model.model.distilbert.transformer.layer.1.attention.v_lin.lora_B.weight";
  fixture::copy_with_value(adapter_from + "/adapter_model.safetensors",
                           (dir / "adapter" / "adapter_model.safetensors").string(), lora_b, 3,
                           NAN);
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  std::string msg =
      fixture::error_message([&] { ag::nn::load_adapter(*model, (dir / "adapter").string()); });
  CHECK(msg == (dir / "adapter" / "adapter_model.safetensors").string() + ": tensor \"" + lora_b +
                   "\": holds NaN at element 3 (weights must be finite numbers)");

  fs::copy(fixture::path("tiny-distilbert/config.json"), dir / "model" / "config.json");
  fixture::copy_with_value(fixture::path("tiny-distilbert/model.safetensors"),
                           (dir / "model" / "model.safetensors").string(),
                           "distilbert.embeddings.word_embeddings.weight", 3, -INFINITY);
  msg = fixture::error_message([&] { ag::models::from_pretrained((dir / "model").string()); });
  CHECK(msg.find("model.safetensors: tensor \"distilbert.embeddings.word_embeddings.weight\": "
                 "holds Inf at element 3") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("adapter_config.json holds the values as given (0.05, not 0.05000000074505806)") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  // The patterns are not sorted: their order is kept.
  ag::nn::LoraConfig config;
  config.r = 4;
  config.alpha = 8;
  config.dropout = 0.05f;
  config.alpha_pattern = {{"v_lin", 0.1f}, {"q_lin", 12}};
  config.rank_pattern = {{"v_lin", 2}};
  ag::nn::apply_lora(*model, config);
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_config_text";
  fs::remove_all(dir);
  ag::nn::save_adapter(*model, config, dir.string(), "tiny-distilbert");
  const std::string text = ag::read_file((dir / "adapter_config.json").string(), ag::kSettingsFile);
  CHECK(text.find("\"lora_dropout\": 0.05,") != std::string::npos);
  CHECK(text.find("\"v_lin\": 0.1") != std::string::npos);
  ag::nn::LoraConfig read = ag::nn::read_adapter_config(dir.string());
  CHECK(read.dropout == 0.05f);
  CHECK(read.alpha_pattern == config.alpha_pattern);
  CHECK(read.rank_pattern == config.rank_pattern);
  auto again = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::load_adapter(*again, dir.string());  // v_lin's tensors have r 2
  fs::remove_all(dir);
}

TEST_CASE("a folder without adapter_config.json is reported by that name") {
  const std::string msg =
      fixture::error_message([] { ag::nn::read_adapter_config("/nonexistent-adapter"); });
  CHECK(msg ==
        "/nonexistent-adapter/adapter_config.json: file: not found (is "
        "/nonexistent-adapter a PEFT adapter folder?)");
}

TEST_CASE("a module of modules_to_save without its tensors in the file is an error naming them") {
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_missing_head";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string from = fixture::path("peft/saved-adapter-distilbert");
  fs::copy(from + "/adapter_config.json", dir / "adapter_config.json");  // modules_to_save
  auto file = ag::safetensors::File::open(from + "/adapter_model.safetensors");
  std::vector<ag::safetensors::F32Tensor> kept;  // the adapter without the classifier
  for (auto& info : file.tensors())
    if (info.name.rfind("base_model.model.classifier.", 0) != 0)
      kept.push_back({info.name, info.shape, file.read_f32(info.name)});
  REQUIRE(kept.size() + 2 == file.tensors().size());
  const std::string path = (dir / "adapter_model.safetensors").string();
  ag::safetensors::save_f32(path, kept);
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  CHECK(fixture::error_message([&] { ag::nn::load_adapter(*model, dir.string()); }) ==
        path +
            ": modules_to_save: adapter_config.json lists them, but the file lacks "
            "\"base_model.model.classifier.bias\", \"base_model.model.classifier.weight\"");
  fs::remove_all(dir);
}

TEST_CASE("the tutorial's per-input-column DoRA is saved so that PEFT cannot mistake it") {
  // PEFT's magnitude has shape (out); the tutorial's LinearWithDoRA keeps its own as
  // weight.norm(dim=0, keepdim=True), shape (1, in). Saved in that shape, the file fails to load
  // in PEFT 0.21.2 ("size mismatch for ...lora_magnitude_vector.default.weight") even on square
  // layers, where a shape (in) vector would be taken for an output-axis one.
  fixture::Reference ref("peft/distilbert_dora_qv.safetensors");
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::nn::LoraConfig config;
  config.r = 4;
  config.alpha = 8;
  config.use_dora = true;
  config.magnitude_axis = ag::nn::MagnitudeAxis::kInput;
  ag::nn::apply_lora(*model, config);
  for (auto& [name, p] : model->named_trainable_parameters()) {
    std::vector<float> values(size_t(p.numel()));
    for (size_t i = 0; i < values.size(); ++i) values[i] = 0.01f * float(i % 7) + 0.5f;
    std::copy(values.begin(), values.end(), p.data());
  }
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_input_axis_dora";
  fs::remove_all(dir);
  ag::nn::save_adapter(*model, config, dir.string(), "tiny-distilbert");
  auto file = ag::safetensors::File::open((dir / "adapter_model.safetensors").string());
  const std::string magnitude =
      "base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_magnitude_vector";
  CHECK(file.info(magnitude).shape == ag::Shape{1, 32});

  auto again = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  const ag::nn::LoraConfig read = ag::nn::load_adapter(*again, dir.string());
  CHECK(read.magnitude_axis == ag::nn::MagnitudeAxis::kInput);
  model->eval();
  again->eval();
  CHECK(model->forward(fixture::batch(ref)).to_vector() ==
        again->forward(fixture::batch(ref)).to_vector());
  fs::remove_all(dir);
}
