#include "apps/predict/trained_run.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "apps/common/base_digest.h"
#include "apps/common/base_load_notices.h"
#include "apps/common/model_setup.h"
#include "apps/common/run_base.h"
#include "core/errors.h"
#include "models/config.h"
#include "nn/adapter_io.h"

namespace fs = std::filesystem;

namespace ag::apps {
namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw Error(path.string() + ": cannot open");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": not valid JSON: " + e.what());
  }
}

bool has_vocab(const fs::path& dir) {
  return !dir.empty() && (fs::exists(dir / "vocab.txt") || fs::exists(dir / "tokenizer.json"));
}

}  // namespace

TrainedRun load_trained_run(const TrainedRunOptions& o, std::ostream* notices) {
  if (o.run.empty() && (o.model.empty() || o.adapter.empty()) && o.model.empty())
    throw Error("give --run DIR, or --model BASE with --adapter DIR");
  if (!o.run.empty() && !fs::is_directory(o.run)) throw Error(o.run + ": no such run folder");
  const fs::path run(o.run);
  fs::path adapter = o.adapter;
  if (adapter.empty() && !o.run.empty() && fs::exists(run / "adapter_config.json")) adapter = run;
  // An adapter run whose adapter_config.json is gone must not be read as a full model folder.
  if (adapter.empty() && !o.run.empty() && fs::exists(run / "adapter_model.safetensors"))
    throw Error((run / "adapter_config.json").string() +
                ": not found, but the run holds adapter_model.safetensors (an incomplete "
                "adapter run: train it again)");
  if (!adapter.empty() && !fs::exists(adapter / "adapter_config.json"))
    throw Error(adapter.string() + ": no adapter_config.json");
  const fs::path settings_file = run / "train_config.json";
  const nlohmann::json settings =
      !o.run.empty() && fs::exists(settings_file) ? read_json(settings_file) : nlohmann::json();
  if (o.adapter.empty() && !adapter.empty() && settings.is_object() &&
      (settings.value("method", "") == "full" || settings.value("method", "") == "head"))
    throw Error(o.run + " mixes two runs: train_config.json says --method " +
                settings.value("method", "") +
                " but an adapter_config.json is there too; train it again with --overwrite");

  TrainedRun out;
  // Labels: --labels, else labels.json in the run or adapter folder.
  std::string labels = o.labels;
  for (const fs::path& dir : {run, adapter})
    if (labels.empty() && !dir.empty() && fs::exists(dir / "labels.json"))
      labels = (dir / "labels.json").string();
  if (labels.empty()) throw Error("no labels.json in the run folder (pass --labels FILE)");
  out.labels = data::LabelMap::load(labels);

  // Base model: --model; else the saved random base; else the adapter's base; else the run.
  std::string base = o.model;
  if (!adapter.empty()) base = find_adapter_base(adapter.string(), o.run, o.model);
  if (!adapter.empty()) check_base_digest(o.run.empty() ? adapter.string() : o.run, base);
  if (base.empty()) base = o.run;  // full / head runs: the whole model is in the run folder
  bool random_init = false;
  BaseLoadNotices base_notices(notices);  // said once the adapter has supplied its part
  out.model = load_base_model(base, out.labels, base_notices.stream(), &random_init);
  if (random_init)
    throw Error("base model " + base +
                " would be randomly initialised: pass the folder the run was trained from");
  if (!adapter.empty()) {
    nn::load_adapter(*out.model, adapter.string(), notices);
    base_notices.release(
        BaseLoadNotices::saved_by_adapter((adapter / "adapter_model.safetensors").string()));
    out.description = "adapter " + adapter.string() + " on " + base;
    out.weights_file = (adapter / "adapter_model.safetensors").string();
  } else {
    base_notices.release({});
    out.description = "model " + base;
    out.weights_file =
        fs::is_directory(base) ? (fs::path(base) / "model.safetensors").string() : base;
  }
  out.model->eval();

  std::string tok = o.tokenizer;
  for (const fs::path& dir : {run, adapter, fs::path(base)})
    if (tok.empty() && has_vocab(dir)) tok = dir.string();
  if (tok.empty()) throw Error("no tokenizer (vocab.txt) in the run folder; pass --tokenizer");
  out.tokenizer.emplace(data::BertTokenizer::from_pretrained(tok));

  out.max_length = o.max_length;
  if (settings.is_object()) {
    const fs::path& file = settings_file;
    try {
      if (out.max_length <= 0) out.max_length = settings.value("max-length", int64_t(128));
      out.text_pairs = !settings.value("text-pair-column", std::string()).empty();
    } catch (const nlohmann::json::exception& e) {
      throw Error(file.string() +
                  ": max-length or text-pair-column has the wrong type: " + e.what());
    }
  }
  if (out.max_length <= 0) out.max_length = 128;
  out.max_length = std::min(out.max_length, out.model->config().max_positions);
  return out;
}

}  // namespace ag::apps
