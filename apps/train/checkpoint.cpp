#include "apps/train/checkpoint.h"

#include <filesystem>

#include "core/bf16_gemm.h"
#include "core/errors.h"
#include "core/io/atomic_file.h"
#include "core/io/safetensors.h"

namespace fs = std::filesystem;

namespace ag::apps {
namespace {

using safetensors::DType;
using safetensors::NamedBuffer;

NamedBuffer buffer(const std::string& name, const Tensor& t) {
  return {name, DType::F32, t.shape(), t.data(), uint64_t(t.numel()) * sizeof(float)};
}

void read_into(const safetensors::File& file, const std::string& key, const Tensor& t) {
  const auto& info = file.info(key);
  if (info.shape != t.shape())
    throw ShapeError(file.path() + ": tensor \"" + key + "\" has shape " + to_string(info.shape) +
                     ", this run expects " + to_string(t.shape()) +
                     " (were the settings changed since the checkpoint?)");
  const std::vector<float> values = file.read_f32(key);
  std::copy(values.begin(), values.end(), t.data());
  refresh_bf16_copy(t);  // a trained weight's bf16 copy follows its restored values
}

}  // namespace

std::string checkpoint_file(const std::string& out_dir) {
  return (fs::path(out_dir) / "checkpoint" / "checkpoint.safetensors").string();
}

void save_checkpoint(const std::string& out_dir, const TrainState& s, const TrainableSet& t,
                     nn::AdamW& optimizer, const nlohmann::json& config) {
  fs::create_directories(fs::path(out_dir) / "checkpoint");
  std::vector<NamedBuffer> buffers;
  auto& m = optimizer.first_moments();
  auto& v = optimizer.second_moments();
  for (size_t i = 0; i < t.names.size(); ++i) {
    buffers.push_back(buffer("param." + t.names[i], t.params[i]));
    buffers.push_back(buffer("adam_m." + t.names[i], m[i]));
    buffers.push_back(buffer("adam_v." + t.names[i], v[i]));
  }
  for (auto& [name, copy] : t.best) buffers.push_back(buffer("best." + name, copy));
  buffers.push_back({"step_losses",
                     DType::F32,
                     {int64_t(s.step_losses.size())},
                     s.step_losses.data(),
                     s.step_losses.size() * sizeof(float)});
  const nlohmann::json state = {
      {"format", "adaptgrad-train-checkpoint-1"},
      {"step", s.step},
      {"epoch", s.epoch},
      {"batch", s.batch},
      {"generator", std::to_string(s.generator)},
      {"best_val_acc", s.best_val_acc},
      {"best_step", s.best_step},
      {"best_epoch", s.best_epoch},
      {"last_eval_step", s.last_eval_step},
      {"train_seconds", s.train_seconds},
      {"data_fingerprint", std::to_string(s.data_fingerprint)},
      {"adam_steps", optimizer.steps()},
      {"param_names", t.names},
  };
  safetensors::save(
      checkpoint_file(out_dir), buffers,
      {{"state", state.dump()}, {"config", config.dump()}, {"metrics", s.metrics.to_jsonl()}});
  // For people: the settings, next to the checkpoint (resume reads the copy inside the file).
  write_text_file_atomically((fs::path(out_dir) / "checkpoint" / "train_config.json").string(),
                             config.dump(2) + "\n");
}

std::string run_dir_of_resume(const std::string& dir) {
  fs::path p(dir);
  if (fs::is_regular_file(p)) p = p.parent_path();
  if (p.filename() == "checkpoint" && fs::exists(p / "checkpoint.safetensors"))
    return p.parent_path().empty() ? "." : p.parent_path().string();
  if (p.filename().empty()) p = p.parent_path();  // "runs/x/"
  if (p.filename() == "checkpoint" && fs::exists(p / "checkpoint.safetensors"))
    return p.parent_path().empty() ? "." : p.parent_path().string();
  return p.string();
}

namespace {

// One JSON entry of the checkpoint's metadata ("config" or "state").
nlohmann::json read_checkpoint_metadata(const std::string& dir, const std::string& key) {
  const std::string path = checkpoint_file(run_dir_of_resume(dir));
  if (!fs::exists(path)) throw Error("--resume " + dir + ": no checkpoint (expected " + path + ")");
  const auto file = safetensors::File::open(path);
  auto it = file.metadata().find(key);
  if (it == file.metadata().end()) throw FormatError(path, "metadata", "no \"" + key + "\" entry");
  const nlohmann::json j = nlohmann::json::parse(it->second, nullptr, false);
  if (j.is_discarded()) throw FormatError(path, "metadata \"" + key + "\"", "not valid JSON");
  return j;
}

}  // namespace

nlohmann::json read_checkpoint_config(const std::string& dir) {
  return read_checkpoint_metadata(dir, "config");
}

int64_t read_checkpoint_step(const std::string& dir) {
  const nlohmann::json state = read_checkpoint_metadata(dir, "state");
  if (!state.contains("step") || !state["step"].is_number_integer())
    throw FormatError(checkpoint_file(run_dir_of_resume(dir)), "metadata \"state\"",
                      "no integer \"step\"");
  return state["step"].get<int64_t>();
}

void load_checkpoint(const std::string& out_dir, TrainState& s, TrainableSet& t,
                     nn::AdamW& optimizer) {
  const std::string path = checkpoint_file(out_dir);
  const auto file = safetensors::File::open(path);
  auto meta = [&](const std::string& key) {
    auto it = file.metadata().find(key);
    if (it == file.metadata().end())
      throw FormatError(path, "metadata", "no \"" + key + "\" entry");
    return it->second;
  };
  nlohmann::json state;
  try {
    state = nlohmann::json::parse(meta("state"));
    if (state.at("format") != "adaptgrad-train-checkpoint-1")
      throw FormatError(path, "state.format", "unknown checkpoint format");
    if (state.at("param_names").get<std::vector<std::string>>() != t.names)
      throw Error(path +
                  ": the trainable parameters differ from this run's (method, targets or "
                  "model changed since the checkpoint?)");
    s.step = state.at("step");
    s.epoch = state.at("epoch");
    s.batch = state.at("batch");
    s.generator = std::stoull(state.at("generator").get<std::string>());
    s.best_val_acc = state.at("best_val_acc");
    s.best_step = state.at("best_step");
    s.best_epoch = state.at("best_epoch");
    s.last_eval_step = state.at("last_eval_step");
    s.train_seconds = state.at("train_seconds");
    s.data_fingerprint = std::stoull(state.at("data_fingerprint").get<std::string>());
    optimizer.set_steps(state.at("adam_steps"));
    s.metrics = MetricsLog::from_jsonl(meta("metrics"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "metadata \"state\"", e.what());
  }
  auto& m = optimizer.first_moments();
  auto& v = optimizer.second_moments();
  t.best.clear();
  for (size_t i = 0; i < t.names.size(); ++i) {
    read_into(file, "param." + t.names[i], t.params[i]);
    read_into(file, "adam_m." + t.names[i], m[i]);
    read_into(file, "adam_v." + t.names[i], v[i]);
    if (file.contains("best." + t.names[i])) {
      Tensor copy = Tensor::empty(t.params[i].shape());
      read_into(file, "best." + t.names[i], copy);
      t.best[t.names[i]] = copy;
    }
  }
  s.step_losses = file.read_f32("step_losses");
}

}  // namespace ag::apps
