// Bad model folders and configs: each gives one clear error naming the file and the key.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "core/errors.h"
#include "core/io/safetensors.h"
#include "fixture.h"
#include "models/config.h"
#include "models/pretrained.h"

namespace fs = std::filesystem;

static fs::path scratch_copy(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("adaptgrad_test_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy(fixture::path("tiny-distilbert/config.json"), dir / "config.json");
  fs::copy(fixture::path("tiny-distilbert/model.safetensors"), dir / "model.safetensors");
  return dir;
}

TEST_CASE("malformed or incomplete config.json") {
  using ag::models::config_from_json_text;
  CHECK(fixture::error_message([] {
          config_from_json_text("{\"model_type\": ", "c.json");
        }).find("c.json") == 0);
  CHECK(fixture::error_message([] {
          config_from_json_text("[1]", "c.json");
        }).find("JSON object") != std::string::npos);
  CHECK(fixture::error_message([] {
          config_from_json_text(R"({"model_type": "gpt2"})", "c.json");
        }).find("model_type") != std::string::npos);
  CHECK(fixture::error_message([] {
          config_from_json_text(R"({"model_type": "distilbert", "dim": "big"})", "c.json");
        }).find("\"dim\"") != std::string::npos);
  CHECK(fixture::error_message([] {
          config_from_json_text(R"({"model_type": "distilbert", "dim": 30, "n_heads": 4})",
                                "c.json");
        }).find("divisible") != std::string::npos);
  CHECK(fixture::error_message([] {
          config_from_json_text(R"({"model_type": "bert", "hidden_dropout_prob": 1.5})", "c.json");
        }).find("[0, 1)") != std::string::npos);
  CHECK(fixture::error_message([] {
          config_from_json_text(R"({"model_type": "distilbert", "activation": "swish"})", "c.json");
        }).find("swish") != std::string::npos);
  CHECK(fixture::error_message([] {
          ag::models::load_config("/nonexistent/config.json");
        }).find("cannot be opened") != std::string::npos);
}

TEST_CASE("a folder without weights, a missing tensor, a tensor of the wrong shape") {
  fs::path dir = scratch_copy("errors");
  // A tensor with the wrong shape: rewrite the checkpoint with classifier.weight transposed.
  auto file = ag::safetensors::File::open((dir / "model.safetensors").string());
  std::vector<ag::safetensors::F32Tensor> tensors, without_q;
  for (auto& info : file.tensors()) {
    auto shape = info.shape;
    if (info.name == "classifier.weight") std::swap(shape[0], shape[1]);
    tensors.push_back({info.name, shape, file.read_f32(info.name)});
    if (info.name != "distilbert.transformer.layer.1.attention.q_lin.weight")
      without_q.push_back({info.name, info.shape, file.read_f32(info.name)});
  }
  ag::safetensors::save_f32((dir / "model.safetensors").string(), tensors);
  std::string msg = fixture::error_message([&] { ag::models::from_pretrained(dir.string()); });
  CHECK(msg.find("classifier.weight") != std::string::npos);
  CHECK(msg.find("(32, 3)") != std::string::npos);

  ag::safetensors::save_f32((dir / "model.safetensors").string(), without_q);
  msg = fixture::error_message([&] { ag::models::from_pretrained(dir.string()); });
  CHECK(msg.find("missing tensors") != std::string::npos);
  CHECK(msg.find("layer.1.attention.q_lin.weight") != std::string::npos);

  fs::remove(dir / "model.safetensors");
  msg = fixture::error_message([&] { ag::models::from_pretrained(dir.string()); });
  CHECK(msg.find("model.safetensors") != std::string::npos);
  CHECK(msg.find("not found") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("inputs longer than the position table, or ids outside the vocabulary") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-distilbert"));
  ag::models::EncoderInput too_long{
      {{1, 65}, std::vector<int32_t>(65, 1)}, {{1, 65}, std::vector<int32_t>(65, 1)}, {}};
  CHECK(fixture::error_message([&] { model->forward(too_long); }).find("64 positions") !=
        std::string::npos);
  ag::models::EncoderInput bad_id{{{1, 2}, {1, 500}}, {{1, 2}, {1, 1}}, {}};
  CHECK(fixture::error_message([&] { model->forward(bad_id); }).find("500") != std::string::npos);
}

TEST_CASE("save_pretrained writes a folder that loads back to the same model") {
  auto model = ag::models::from_pretrained(fixture::path("tiny-bert"));
  fs::path dir = fs::temp_directory_path() / "adaptgrad_test_save";
  fs::remove_all(dir);
  ag::models::save_pretrained(*model, dir.string());
  auto again = ag::models::from_pretrained(dir.string());
  auto a = model->named_parameters(), b = again->named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].first == b[i].first);
    CHECK(a[i].second.to_vector() == b[i].second.to_vector());
  }
  fs::remove_all(dir);
}
