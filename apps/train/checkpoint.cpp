#include "apps/train/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

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
  t.copy_(file.read_f32(key));
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
  const std::string file = checkpoint_file(run_dir_of_resume(dir));
  if (!state.is_object()) throw FormatError(file, "metadata \"state\"", "not a JSON object");
  if (!state.contains("step")) throw FormatError(file, "state \"step\"", "missing");
  if (!state["step"].is_number_integer() || state["step"].get<int64_t>() < 0)
    throw FormatError(file, "state \"step\"",
                      "expected an integer of 0 or more, got " + state["step"].dump());
  return state["step"].get<int64_t>();  // its upper bound is checked by load_checkpoint()
}

namespace {

// The fields of a checkpoint's "state", each checked against this run before it is used: a
// damaged or edited checkpoint is a one-line error naming the file and the key, never a raw
// std::stoull message or a run that silently trains 0 steps.
class StateReader {
 public:
  StateReader(const std::string& path, const nlohmann::json& state) : path_(path), state_(state) {}

  const nlohmann::json& at(const std::string& key) const {
    if (!state_.contains(key)) fail(key, "missing");
    return state_[key];
  }

  int64_t integer(const std::string& key, int64_t low, int64_t high, const std::string& why) const {
    const nlohmann::json& v = at(key);
    bool in_range =
        false;  // JSON reads a non-negative integer as unsigned, a negative one as signed
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      in_range = high >= 0 && u <= uint64_t(high) && (low <= 0 || u >= uint64_t(low));
    } else if (v.is_number_integer()) {
      in_range = v.get<int64_t>() >= low && v.get<int64_t>() <= high;
    }
    if (!in_range)
      fail(key, "expected an integer from " + std::to_string(low) + " to " + std::to_string(high) +
                    why + ", got " + v.dump());
    return v.get<int64_t>();
  }

  double number(const std::string& key, double low, double high) const {
    const nlohmann::json& v = at(key);
    if (!v.is_number() || !(v.get<double>() >= low && v.get<double>() <= high))
      fail(key, "expected a number from " + nlohmann::json(low).dump() + " to " +
                    nlohmann::json(high).dump() + ", got " + v.dump());
    return v.get<double>();
  }

  // A 64-bit unsigned value, saved as a decimal string (JSON numbers lose precision there).
  uint64_t decimal(const std::string& key) const {
    const nlohmann::json& v = at(key);
    uint64_t value = 0;
    const std::string text = v.is_string() ? v.get<std::string>() : "";
    const char* end = text.data() + text.size();
    const auto [stop, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || stop != end)
      fail(key, "expected a decimal 64-bit unsigned number in a string, got " + v.dump());
    return value;
  }

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const {
    throw FormatError(path_, "state \"" + key + "\"", problem);
  }

 private:
  const std::string& path_;
  const nlohmann::json& state_;
};

}  // namespace

void load_checkpoint(const std::string& out_dir, TrainState& s, TrainableSet& t,
                     nn::AdamW& optimizer, const CheckpointLimits& limits) {
  const std::string path = checkpoint_file(out_dir);
  const auto file = safetensors::File::open(path);
  auto meta = [&](const std::string& key) {
    auto it = file.metadata().find(key);
    if (it == file.metadata().end())
      throw FormatError(path, "metadata", "no \"" + key + "\" entry");
    return it->second;
  };
  const nlohmann::json state = nlohmann::json::parse(meta("state"), nullptr, false);
  if (!state.is_object()) throw FormatError(path, "metadata \"state\"", "not a JSON object");
  const StateReader read(path, state);
  if (read.at("format") != "adaptgrad-train-checkpoint-1")
    read.fail("format", "unknown checkpoint format " + read.at("format").dump());
  const nlohmann::json& names = read.at("param_names");
  if (!names.is_array() || !std::all_of(names.begin(), names.end(),
                                        [](const nlohmann::json& n) { return n.is_string(); }))
    read.fail("param_names", "expected a list of names");
  if (names.get<std::vector<std::string>>() != t.names)
    throw Error(path +
                ": the trainable parameters differ from this run's (method, targets or "
                "model changed since the checkpoint?)");
  const std::string this_run = " (this run's ";
  s.step = read.integer("step", 0, limits.total_steps, this_run + "optimizer steps)");
  s.epoch = read.integer("epoch", 0, limits.epochs, this_run + "epochs)");
  s.batch = read.integer("batch", 0, limits.batches_per_epoch, this_run + "batches per epoch)");
  s.generator = read.decimal("generator");
  s.best_val_acc = read.number("best_val_acc", -1, 1);  // -1: not evaluated yet
  s.best_step = read.integer("best_step", 0, s.step, " (the \"step\")");
  s.best_epoch = read.number("best_epoch", 0, double(limits.epochs));
  s.last_eval_step = read.integer("last_eval_step", -1, s.step, " (the \"step\")");
  s.train_seconds = read.number("train_seconds", 0, 1e12);
  s.data_fingerprint = read.decimal("data_fingerprint");
  optimizer.set_steps(read.integer("adam_steps", s.step, s.step, " (the \"step\")"));
  try {
    s.metrics = MetricsLog::from_jsonl(meta("metrics"));
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path, "metadata \"metrics\"", e.what());
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
  if (int64_t(s.step_losses.size()) != s.step)
    throw FormatError(path, "tensor \"step_losses\"",
                      "holds " + std::to_string(s.step_losses.size()) +
                          " losses, expected one per step (" + std::to_string(s.step) + ")");
}

}  // namespace ag::apps
