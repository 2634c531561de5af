// PEFT's adapter_config.json beyond the plain keys: rank_pattern and alpha_pattern reproduce
// PEFT-saved adapters (logits and merged weights), and every other LoraConfig field PEFT has is
// either implemented, refused when it changes the math, or known not to change it.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "fixture.h"
#include "models/pretrained.h"
#include "nn/adapter_io.h"
#include "nn/peft_config_fields.h"

namespace fs = std::filesystem;
using nlohmann::json;

// A scratch copy of a fixture adapter folder.
static fs::path copy_adapter(const std::string& fixture_folder, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const char* file : {"adapter_config.json", "adapter_model.safetensors"})
    fs::copy(fixture::path(fixture_folder) + "/" + file, dir / file);
  return dir;
}

static void check_pattern_adapter(const std::string& model_key) {
  const std::string folder = "peft/patterns-" + model_key;
  fixture::Reference ref(folder + "/reference.safetensors");
  auto model = ag::models::from_pretrained(fixture::path("tiny-" + model_key));
  ag::nn::load_adapter(*model, fixture::path(folder));
  model->eval();
  fixture::check_close("logits", model->forward(fixture::batch(ref)), ref.tensor("logits"), 0,
                       1e-5);
  ag::nn::merge_and_unload(*model);
  int merged_layers = 0;
  for (auto& [name, p] : model->named_parameters())
    if (ref.has("merged." + name)) {
      fixture::check_close("merged " + name, p, ref.tensor("merged." + name), 0, 1e-5);
      ++merged_layers;
    }
  CHECK(merged_layers >= 6);
  fixture::check_close("merged logits", model->forward(fixture::batch(ref)), ref.tensor("logits"),
                       0, 1e-5);
}

TEST_CASE("PEFT adapters with rank_pattern and alpha_pattern give PEFT's logits and merge") {
  SUBCASE("BERT, LoRA: suffix, regex, non-matching and overlapping keys") {
    check_pattern_adapter("bert");
  }
  SUBCASE("DistilBERT, rsLoRA + DoRA with per-layer rank and a fractional alpha") {
    check_pattern_adapter("distilbert");
  }
}

TEST_CASE("pattern keys match as PEFT's get_pattern_key: suffix at a dot or regex, first wins") {
  ag::nn::LoraConfig c;
  c.r = 8;
  c.alpha = 16;
  c.rank_pattern = {{"value", 2}, {"layer.1.attention.self.value", 6}, {R"(layer\.[01]\.k.*)", 3}};
  c.alpha_pattern = {{"uery", 100}, {"dense", 4.5f}};
  auto at = [&](const std::string& name) {
    auto m = c.for_module(name);
    return std::make_pair(m.r, m.alpha);
  };
  // "value" comes first, so the more specific second key never applies.
  CHECK(at("bert.encoder.layer.1.attention.self.value") == std::make_pair(int64_t(2), 16.0f));
  CHECK(at("value") == std::make_pair(int64_t(2), 16.0f));
  CHECK(at("bert.encoder.layer.0.attention.self.query") == std::make_pair(int64_t(8), 16.0f));
  CHECK(at("bert.encoder.layer.1.key") == std::make_pair(int64_t(3), 16.0f));
  CHECK(at("bert.encoder.layer.2.key") == std::make_pair(int64_t(8), 16.0f));
  CHECK(at("x.attention.output.dense") == std::make_pair(int64_t(8), 4.5f));
  CHECK(at("x.attention.output.densely") == std::make_pair(int64_t(8), 16.0f));
  c.rank_pattern = {{"layer.(", 2}};
  CHECK(fixture::error_message([&] {
          c.for_module("a.value");
        }).find("rank_pattern key 'layer.('") != std::string::npos);
}

TEST_CASE("pattern keys apply in the file's order, not sorted (PEFT reads the file in order)") {
  const fs::path dir = copy_adapter("peft/patterns-bert", "adaptgrad_test_pattern_order");
  // "value" (r 2) before "layer.1.attention.self.value" (r 6): layer 1's value gets r 2 now,
  // and the tensors saved with r 6 no longer fit.
  auto config = nlohmann::ordered_json::parse(std::ifstream(dir / "adapter_config.json"));
  config["rank_pattern"] = nlohmann::ordered_json::parse(
      R"J({"value": 2, "layer.1.attention.self.value": 6,
           "layer\\.0\\.attention\\.self\\.(query|key)": 3})J");
  std::ofstream(dir / "adapter_config.json") << config.dump();
  auto model = ag::models::from_pretrained(fixture::path("tiny-bert"));
  const std::string msg =
      fixture::error_message([&] { ag::nn::load_adapter(*model, dir.string()); });
  CHECK(msg.find("layer.1.attention.self.value.lora_A.weight\" has shape (6, 32), the model "
                 "expects (2, 32)") != std::string::npos);
  fs::remove_all(dir);
}

// The fields PEFT's LoraConfig has, listed by tools/reference/list_lora_config_fields.py.
static json peft_fields() {
  return json::parse(std::ifstream(fixture::path("peft/lora_config_fields.json")));
}

static const ag::nn::PeftField* classified(const std::string& name) {
  for (auto& f : ag::nn::peft_lora_fields())
    if (f.name == name) return &f;
  return nullptr;
}

static std::string read_error(const fs::path& dir, const json& config) {
  std::ofstream(dir / "adapter_config.json") << config.dump();
  return fixture::error_message([&] { ag::nn::read_adapter_config(dir.string()); });
}

TEST_CASE(
    "every field of PEFT's LoraConfig is implemented, refused or ignored, and refused ones are") {
  const json list = peft_fields();
  CHECK(list["peft"] == "0.21.2");
  REQUIRE(list["fields"].size() >= 40);
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_peft_fields";
  fs::create_directories(dir);
  const json minimal = {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_lin"}}};
  json every_default = json::object();
  for (auto& field : list["fields"]) {
    const std::string name = field["name"];
    INFO("LoraConfig field " << name << " (" << field["why"].get<std::string>() << ")");
    const ag::nn::PeftField* f = classified(name);
    REQUIRE_MESSAGE(f != nullptr, "not classified in nn/peft_config_fields.cpp");
    if (field["changes_math"]) CHECK(f->use != ag::nn::PeftFieldUse::kIgnored);
    if (f->use == ag::nn::PeftFieldUse::kRefusedUnlessNeutral) {
      json config = minimal;
      config[name] = field["example"];
      CHECK(read_error(dir, config).find("key \"" + name + "\": " + field["example"].dump()) !=
            std::string::npos);
    }
    every_default[name] = field["default"];
  }
  // Every field at PEFT's default (what PEFT writes for a plain adapter) loads.
  every_default.update(minimal);
  CHECK(read_error(dir, every_default) == "");
  // Nothing classified here that PEFT does not have, other than adaptgrad's own key.
  for (auto& f : ag::nn::peft_lora_fields()) {
    bool listed = f.name.rfind("adaptgrad_", 0) == 0;
    for (auto& field : list["fields"]) listed = listed || field["name"] == f.name;
    CHECK_MESSAGE(listed, f.name);
  }
  fs::remove_all(dir);
}

TEST_CASE("adapter_config.json: an unknown key with a value, or a bad pattern, is refused") {
  const fs::path dir = fs::temp_directory_path() / "adaptgrad_test_peft_unknown";
  fs::create_directories(dir);
  const json minimal = {{"r", 4}, {"lora_alpha", 8}, {"target_modules", {"q_lin"}}};
  json config = minimal;
  config["use_future_variant"] = nullptr;  // unset: harmless
  CHECK(read_error(dir, config) == "");
  config["use_future_variant"] = true;
  CHECK(read_error(dir, config).find("key \"use_future_variant\": is not a LoraConfig field") !=
        std::string::npos);
  config = minimal;
  config["rank_pattern"] = {{"q_lin", 0}};
  CHECK(read_error(dir, config).find("key \"rank_pattern.q_lin\"") != std::string::npos);
  config["rank_pattern"] = {"q_lin", 2};
  CHECK(read_error(dir, config).find("key \"rank_pattern\": must be an object") !=
        std::string::npos);
  config = minimal;
  config["alpha_pattern"] = {{"q_lin", "big"}};
  CHECK(read_error(dir, config).find("key \"alpha_pattern.q_lin\": must be a number") !=
        std::string::npos);
  config["init_lora_weights"] = "gaussian";  // only the starting A, B: the file replaces them
  config["alpha_pattern"] = {{"q_lin", 32}};
  CHECK(read_error(dir, config) == "");
  fs::remove_all(dir);
}
