#include "apps/common/train_config.h"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <variant>

#include "apps/common/base_digest.h"
#include "apps/common/glue_task.h"
#include "apps/common/help_defaults.h"
#include "apps/common/resume_check.h"
#include "apps/common/task_metrics.h"
#include "core/errors.h"

namespace ag::apps {
namespace {

using Member = std::variant<std::string TrainConfig::*, int64_t TrainConfig::*,
                            uint64_t TrainConfig::*, double TrainConfig::*, bool TrainConfig::*>;

struct Field {
  const char* name;  // flag without "--", JSON key
  Member member;
  const char* help;
  const char* group = "";  // the heading of --help the flag is listed under
};

const std::vector<Field>& fields() {
  using C = TrainConfig;
  static const std::vector<Field> table = {
      {"model", &C::model,
       "Hugging Face folder (config.json + model.safetensors), a preset "
       "(distilbert-base-uncased, bert-base-uncased: random init) or a config.json file "
       "(random init)",
       "Model"},
      {"tokenizer", &C::tokenizer, "tokenizer folder (default: the model folder)", "Model"},
      {"train", &C::train, "training file", "Data"},
      {"validation", &C::validation, "validation file (default: --val-split of --train)", "Data"},
      {"test", &C::test, "test file (evaluated once, with the best checkpoint)", "Data"},
      {"data", &C::data, "one labelled file, split by --split", "Data"},
      {"split", &C::split, "train,validation,test fractions for --data (stratified, seeded)",
       "Data"},
      {"val-split", &C::val_split, "validation fraction carved from --train", "Data"},
      {"format", &C::format, "tsv|csv|jsonl|polarity (default: from the file extension)", "Data"},
      {"text-column", &C::text_column, "text column/key (default: sentence for tsv, else text)",
       "Data"},
      {"text-pair-column", &C::text_pair_column, "second text column for pair tasks", "Data"},
      {"label-column", &C::label_column, "label column/key (default: label)", "Data"},
      {"no-header", &C::no_header,
       "tsv/csv: the first row is data, not a header; columns are named 0, 1, ...", "Data"},
      {"task", &C::task,
       "a GLUE task: cola|sst2|mrpc|qqp|stsb|mnli|qnli|rte|wnli (GLUE's TSV columns, the "
       "problem type and the metric; flags given explicitly win)",
       "Task"},
      {"problem-type", &C::problem_type,
       "single_label_classification (cross-entropy; default)|regression (one output, float "
       "labels, MSE loss), as transformers' config.problem_type",
       "Task"},
      {"metric", &C::metric,
       "accuracy|matthews|f1|pearson|spearman: reported and picks the best evaluation "
       "(default: the task's, else accuracy; pearson for regression)",
       "Task"},
      {"demo", &C::demo, "the built-in SYNTHETIC sentiment task (no files needed)", "Data"},
      {"demo-size", &C::demo_size, "number of synthetic examples for --demo", "Data"},
      {"skip-bad-rows", &C::skip_bad_rows, "skip (and count) malformed rows instead of failing",
       "Data"},
      {"max-line-bytes", &C::max_line_bytes,
       "longest line accepted in a data file, in bytes (a longer one is an error)", "Data"},
      {"method", &C::method, "lora|dora|full|head", "Adapter"},
      {"r", &C::r, "LoRA rank", "Adapter"},
      {"alpha", &C::alpha, "LoRA alpha", "Adapter"},
      {"dropout", &C::dropout, "LoRA dropout", "Adapter"},
      {"targets", &C::targets,
       "modules to adapt: query,key,value,projection,mlp,head or module names (q_lin,v_lin)",
       "Adapter"},
      {"train-head", &C::train_head,
       "lora/dora: also train the classification head (PEFT modules_to_save); "
       "--train-head=false trains the adapters only",
       "Adapter"},
      {"scaling", &C::scaling,
       "alpha-over-r (PEFT)|rslora|alpha (the DoRA-from-scratch tutorial's code)", "Adapter"},
      {"init", &C::init, "kaiming (PEFT)|gaussian (the tutorial's)", "Adapter"},
      {"dora-magnitude", &C::dora_magnitude, "output (paper, PEFT)|input (the tutorial's variant)",
       "Adapter"},
      {"dora-dropout", &C::dora_dropout,
       "peft (PEFT's formula: one more full GEMM each way)|branch (dropout on the low-rank "
       "branch alone, as LoRA; no extra GEMM; the same model in eval mode)",
       "Adapter"},
      {"epochs", &C::epochs, "training epochs", "Training"},
      {"lr", &C::lr, "peak learning rate", "Training"},
      {"batch-size", &C::batch_size, "examples per batch (per process under mpirun)", "Training"},
      {"global-batch-size", &C::global_batch_size,
       "examples per batch over all processes (mpirun -np N: default N x --batch-size); "
       "when set it decides the batches, so N processes train exactly as one",
       "Training"},
      {"max-length", &C::max_length, "truncate to this many tokens", "Training"},
      {"weight-decay", &C::weight_decay, "AdamW decoupled weight decay", "Training"},
      {"warmup", &C::warmup, "warm-up: a fraction (< 1) of the steps, or a number of steps",
       "Training"},
      {"schedule", &C::schedule, "linear|cosine|constant decay after warm-up", "Training"},
      {"clip", &C::clip, "clip gradients to this global L2 norm (0: off)", "Training"},
      {"grad-accum", &C::grad_accum, "batches per optimizer step", "Training"},
      {"seed", &C::seed, "seed for the split, data order, initialisation and dropout (0 to 2^64-1)",
       "Training"},
      {"threads", &C::threads,
       "threads (0: one per core other processes leave free, re-checked during training; "
       "OMP_NUM_THREADS when set)",
       "Training"},
      {"precision", &C::precision,
       "fp32|bf16|auto: matrix products of the linear layers' weights and of the attention in "
       "bf16 (fp32 master weights, adapters, softmax, gradients and optimizer); auto: bf16 where "
       "the CPU has AMX-BF16 or is an AMD with AVX512_BF16, else fp32",
       "Training"},
      {"max-steps", &C::max_steps, "stop after this many optimizer steps (0: no cap)", "Training"},
      {"eval-every", &C::eval_every, "validate every N steps (0: after each epoch)", "Training"},
      {"log-every", &C::log_every, "log every N steps (0: about 20 lines per epoch)", "Training"},
      {"checkpoint-every", &C::checkpoint_every,
       "also checkpoint every N steps (0: after each epoch only)", "Training"},
      {"bucket", &C::bucket, "batch examples of similar length (--bucket=false: off)", "Training"},
      {"out", &C::out, "run folder (default: runs/<data>-<method>)", "Output"},
      {"quiet-params", &C::quiet_params, "do not list the trainable parameters before training",
       "Output"},
      {"list-params", &C::list_params,
       "list every parameter before training, `name: True/False` (True: it trains), as the "
       "tutorial prints them",
       "Output"},
      {"save-data-order", &C::save_data_order,
       "write data_order.jsonl: the split, token ids and batch order (for peer trainers)",
       "Output"},
  };
  return table;
}

std::string normalise_key(std::string key) {
  for (char& c : key)
    if (c == '_') c = '-';
  return key;
}

bool one_of(const std::string& value, std::initializer_list<const char*> options) {
  for (auto* o : options)
    if (value == o) return true;
  return false;
}

// CLI11 clamps an integer that does not fit ("--seed 99999999999999999999" becomes 2^63-1):
// refuse it instead.
CLI::Validator whole_int64() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        int64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [at, error] = std::from_chars(text.data(), end, value);
        if (error == std::errc::result_out_of_range)
          return "'" + text + "' does not fit a 64-bit integer";
        if (error != std::errc() || at != end) return "'" + text + "' is not an integer";
        return "";
      },
      "INT");
}

// The same for the unsigned settings (--seed): a negative number is refused rather than
// wrapped around to 2^64 - n.
CLI::Validator whole_uint64() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const std::string range = " (expected 0 to 18446744073709551615)";
        if (!text.empty() && text[0] == '-') return "'" + text + "' is negative" + range;
        uint64_t value = 0;
        const char* end = text.data() + text.size();
        const auto [at, error] = std::from_chars(text.data(), end, value);
        if (error == std::errc::result_out_of_range)
          return "'" + text + "' does not fit a 64-bit unsigned integer" + range;
        if (error != std::errc() || at != end) return "'" + text + "' is not an integer" + range;
        return "";
      },
      "UINT");
}

// A JSON number as an unsigned 64-bit setting; anything else is an error saying why.
uint64_t json_uint64(const nlohmann::json& value) {
  if (value.is_number_unsigned()) return value.get<uint64_t>();
  if (value.is_number_integer()) throw Error("negative (expected 0 to 18446744073709551615)");
  const double d = value.get<double>();
  if (d != std::floor(d)) throw Error("expected an integer");
  if (!(d >= 0 && d < 18446744073709551616.0))
    throw Error("out of range (expected 0 to 18446744073709551615)");
  return uint64_t(d);
}

}  // namespace

std::vector<std::string> TrainConfig::target_list() const {
  return split_comma_list(targets);
}

std::vector<std::string> split_comma_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, ',');) {
    item.erase(0, item.find_first_not_of(" "));
    item.erase(item.find_last_not_of(" ") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

void TrainConfig::validate_adapter() const {
  auto fail = [](const std::string& msg) { throw Error(msg); };
  if (!one_of(method, {"lora", "dora", "full", "head"}))
    fail("--method must be lora, dora, full or head, got '" + method + "'");
  if (!one_of(scaling, {"alpha-over-r", "rslora", "alpha"}))
    fail("--scaling must be alpha-over-r, rslora or alpha, got '" + scaling + "'");
  if (!one_of(init, {"kaiming", "gaussian"}))
    fail("--init must be kaiming or gaussian, got '" + init + "'");
  if (!one_of(dora_magnitude, {"output", "input"}))
    fail("--dora-magnitude must be output or input, got '" + dora_magnitude + "'");
  if (!one_of(dora_dropout, {"peft", "branch"}))
    fail("--dora-dropout must be peft or branch, got '" + dora_dropout + "'");
  if (uses_adapter() && target_list().empty()) fail("--targets is empty");
  if (r <= 0) fail("--r must be positive, got " + std::to_string(r));
  if (!(alpha > 0)) fail("--alpha must be positive");
  if (!(dropout >= 0 && dropout < 1)) fail("--dropout must be in [0, 1)");
}

void TrainConfig::validate_task() const {
  auto fail = [](const std::string& msg) { throw Error(msg); };
  if (!task.empty()) glue_task(task);  // an unknown name lists the tasks
  if (!problem_type.empty() && !one_of(problem_type, {"single_label_classification", "regression"}))
    fail("--problem-type must be single_label_classification or regression, got '" + problem_type +
         "' (multi_label_classification is not implemented)");
  if (!metric.empty() && !is_metric_name(metric))
    fail("--metric must be accuracy, matthews, f1, pearson or spearman, got '" + metric + "'");
  const bool correlation = metric == "pearson" || metric == "spearman";
  if (!metric.empty() && correlation != is_regression())
    fail("--metric " + metric + " is " +
         (correlation ? "a regression metric: add --problem-type regression"
                      : "a classification metric: a regression run reports pearson or spearman"));
  if (is_regression() && (demo || format == "polarity"))
    fail(
        "--problem-type regression needs a data file with numeric labels (not --demo or "
        "polarity)");
}

void TrainConfig::validate() const {
  auto fail = [](const std::string& msg) { throw Error(msg); };
  if (model.empty()) fail("--model is required (a Hugging Face folder or a preset name)");
  validate_adapter();
  if (!one_of(schedule, {"linear", "cosine", "constant"}))
    fail("--schedule must be linear, cosine or constant, got '" + schedule + "'");
  if (!format.empty() && !one_of(format, {"tsv", "csv", "jsonl", "polarity"}))
    fail("--format must be tsv, csv, jsonl or polarity, got '" + format + "'");
  const int sources = int(demo) + int(!data.empty()) + int(!train.empty());
  if (sources == 0) fail("no data: give --train FILE, --data FILE or --demo");
  if (sources > 1) fail("give only one of --train, --data and --demo");
  if ((!validation.empty() || !test.empty()) && train.empty())
    fail("--validation and --test go with --train");
  // A setting that the chosen data source would ignore is a mistake, not a default.
  const TrainConfig defaults;
  if (split != defaults.split && !train.empty())
    fail(
        "--split goes with --data or --demo; with --train, give --validation/--test files or "
        "--val-split");
  if (val_split != defaults.val_split && (train.empty() || !validation.empty()))
    fail("--val-split goes with --train without --validation; with --data or --demo use --split");
  if (epochs <= 0) fail("--epochs must be positive");
  if (!(lr > 0 && std::isfinite(lr))) fail("--lr must be positive");
  if (batch_size <= 0) fail("--batch-size must be positive");
  if (global_batch_size < 0) fail("--global-batch-size must be >= 0");
  if (max_length < 3) fail("--max-length must be at least 3");
  if (!(weight_decay >= 0)) fail("--weight-decay must be >= 0");
  if (!(warmup >= 0)) fail("--warmup must be >= 0");
  if (!(clip >= 0)) fail("--clip must be >= 0");
  if (grad_accum <= 0) fail("--grad-accum must be positive");
  if (threads < 0) fail("--threads must be >= 0");
  if (precision != "fp32" && precision != "bf16" && precision != "auto")
    fail("--precision must be fp32, bf16 or auto, got '" + precision + "'");
  if (max_steps < 0 || eval_every < 0 || log_every < 0 || checkpoint_every < 0)
    fail("--max-steps, --eval-every, --log-every and --checkpoint-every must be >= 0");
  if (!(val_split > 0 && val_split < 1)) fail("--val-split must be in (0, 1)");
  if (demo && demo_size < 20) fail("--demo-size must be at least 20");
  if (max_line_bytes <= 0) fail("--max-line-bytes must be positive");
  validate_task();
}

nlohmann::json to_json(const TrainConfig& config) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& f : fields()) std::visit([&](auto member) { j[f.name] = config.*member; }, f.member);
  return j;
}

void apply_json(TrainConfig& config, const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object of settings");
  std::map<std::string, std::string> spelling_of;  // normalised key -> the key as written
  for (auto& [raw_key, value] : j.items()) {
    const std::string key = normalise_key(raw_key);
    // "batch_size" and "batch-size" both set --batch-size: which value was meant?
    if (auto [first, added] = spelling_of.emplace(key, raw_key); !added)
      throw Error(where + ": \"" + first->second + "\" and \"" + raw_key +
                  "\" are the same setting (keep one)");
    if (key == kBaseDigestKey || key == kBaseConfigDigestKey || key == kTokenizerDigestKey ||
        key == kResumeChangesKey)
      continue;  // records, not settings
    const Field* field = nullptr;
    for (auto& f : fields())
      if (key == f.name) field = &f;
    if (!field) throw Error(where + ": unknown setting \"" + raw_key + "\"");
    try {
      std::visit(
          [&](auto member) {
            using T = std::decay_t<decltype(config.*member)>;
            if constexpr (std::is_same_v<T, std::string>) {
              if (value.is_array()) {  // "targets": ["query", "value"]
                std::string joined;
                for (auto& item : value) joined += (joined.empty() ? "" : ",") + item.get<T>();
                config.*member = joined;
              } else {
                config.*member = value.get<T>();
              }
            } else if constexpr (std::is_same_v<T, bool>) {
              config.*member = value.get<bool>();
            } else if constexpr (std::is_same_v<T, uint64_t>) {
              if (!value.is_number()) throw Error("expected a number");
              config.*member = json_uint64(value);
            } else {
              if (!value.is_number()) throw Error("expected a number");
              if constexpr (std::is_same_v<T, int64_t>) {
                const double d = value.get<double>();
                if (d != std::floor(d)) throw Error("expected an integer");
                if (!(std::abs(d) < 9.2e18)) throw Error("out of range (a 64-bit integer)");
              }
              config.*member = value.get<T>();
            }
          },
          field->member);
    } catch (const std::exception& e) {
      throw Error(where + ": setting \"" + raw_key + "\": " + e.what());
    }
  }
}

void load_config_file(TrainConfig& config, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the config file");
  nlohmann::json j;
  // nlohmann keeps the last value of a repeated key ({"lr": 0.1, "lr": 0.2}): refuse it instead.
  int open_objects = 0;
  std::set<std::string> keys;  // of the outermost object: the settings
  const auto refuse_repeats = [&](int, nlohmann::json::parse_event_t event,
                                  nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) ++open_objects;
    if (event == Event::object_end) --open_objects;
    if (event == Event::key && open_objects == 1 && !keys.insert(parsed.get<std::string>()).second)
      throw Error(path + ": setting \"" + parsed.get<std::string>() + "\" appears twice");
    return true;
  };
  try {
    j = nlohmann::json::parse(in, refuse_repeats);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON: " + e.what());
  }
  apply_json(config, j, path);
}

namespace {

// Binds the fields `wanted` picks to flags of `app` (the last of a repeated flag wins).
void add_field_options(CLI::App& app, TrainConfig& config,
                       const std::function<bool(const Field&)>& wanted) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  for (auto& f : fields()) {
    if (!wanted(f)) continue;
    const std::string flag = std::string("--") + f.name;
    const std::string group = f.group;
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(config.*member)>;
          CLI::Option* opt;
          if constexpr (std::is_same_v<T, bool>)  // --bucket or --bucket=false
            opt = flag_default(app.add_flag(flag, config.*member, f.help), config.*member);
          else
            opt = app.add_option(flag, config.*member, f.help);
          if constexpr (std::is_same_v<T, int64_t>) opt->check(whole_int64());
          if constexpr (std::is_same_v<T, uint64_t>) opt->check(whole_uint64());
          opt->group(group)->capture_default_str();
        },
        f.member);
  }
}

}  // namespace

void add_adapter_flags(CLI::App& app, TrainConfig& config) {
  add_field_options(app, config, [](const Field& f) {
    return std::string(f.name) == "model" || std::string(f.group) == "Adapter";
  });
}

void add_train_options(CLI::App& app, TrainConfig& config, RunFlags& flags) {
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // last flag wins
  app.add_option("--config", flags.config_file, "JSON file with the same keys as the flags")
      ->group("Run");
  app.add_option("--resume", flags.resume_dir,
                 "continue the run whose folder (or checkpoint folder) this is")
      ->group("Run");
  app.add_flag("--overwrite", flags.overwrite,
               "--out holds an earlier train run: remove that run's files (only those), once "
               "every input has been checked")
      ->group("Run");
  app.add_option("--allow-change", flags.allow_change,
                 "with --resume: settings that may differ from the checkpoint's, e.g. lr,epochs "
                 "(recorded in train_config.json)")
      ->group("Run");
  add_field_options(app, config, [](const Field&) { return true; });
}

std::string find_flag_value(int argc, char** argv, const std::string& name) {
  const std::string flag = "--" + name, prefix = flag + "=";
  std::string value;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == flag && i + 1 < argc) value = argv[++i];
    if (arg.rfind(prefix, 0) == 0) value = arg.substr(prefix.size());
  }
  return value;
}

}  // namespace ag::apps
