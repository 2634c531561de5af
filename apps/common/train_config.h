// The train app's settings: one struct, one table of fields, three sources.
//
// Every setting has one name, used as the command-line flag ("--batch-size") and as the key of
// a --config JSON file ("batch-size" or "batch_size"). Precedence: the defaults below, then
// --config FILE (or, with --resume DIR, the settings saved in DIR's checkpoint), then the flags.
// The resolved settings are saved as train_config.json in the run folder, in the same format,
// so `train --config runs/X/train_config.json` repeats a run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace ag::apps {

struct TrainConfig {
  // --- model and tokenizer ----------------------------------------------------------------
  std::string model;      // HF folder, preset name, or a config.json file (random init)
  std::string tokenizer;  // default: the model folder
  // --- data -------------------------------------------------------------------------------
  std::string train, validation, test;  // separate files, or
  std::string data;                     // one file split by `split`
  std::string split = "0.8,0.1,0.1";
  double val_split = 0.1;  // validation carved from --train when there is no --validation
  std::string format;      // tsv|csv|jsonl|polarity; default from the file extension
  std::string text_column, text_pair_column, label_column;
  bool no_header = false;  // tsv/csv: the first row is data; columns are named "0", "1", ...
  // The task (apps/common/glue_task.h): a GLUE preset, the loss and the metric.
  std::string task;          // cola|sst2|mrpc|qqp|stsb|mnli|qnli|rte|wnli: columns, type, metric
  std::string problem_type;  // "" or single_label_classification (cross-entropy) | regression (MSE)
  std::string metric;        // accuracy|matthews|f1|pearson|spearman: picks the best evaluation
  bool demo = false;         // the built-in SYNTHETIC sentiment task
  int64_t demo_size = 2000;
  bool skip_bad_rows = false;
  int64_t max_line_bytes = int64_t(1) << 20;  // a longer line in a data file is an error
  // --- adapters ---------------------------------------------------------------------------
  std::string method = "lora";  // lora|dora|full|head
  int64_t r = 8;
  double alpha = 16.0;
  double dropout = 0.05;
  std::string targets = "query,value";
  bool train_head = true;                 // lora/dora: head modules in modules_to_save
  std::string scaling = "alpha-over-r";   // alpha-over-r|rslora|alpha
  std::string init = "kaiming";           // kaiming|gaussian
  std::string dora_magnitude = "output";  // output|input
  std::string dora_dropout = "peft";      // peft|branch (dropout on the low-rank branch only)
  // --- optimisation -----------------------------------------------------------------------
  int64_t epochs = 3;
  double lr = 5e-4;
  int64_t batch_size = 16;
  int64_t global_batch_size = 0;  // 0: batch_size x processes
  int64_t max_length = 128;
  double weight_decay = 0.01;
  double warmup = 0.06;             // < 1: a fraction of the total steps; >= 1: a number of steps
  std::string schedule = "linear";  // linear|cosine|constant
  double clip = 1.0;                // 0: no clipping
  int64_t grad_accum = 1;
  uint64_t seed = 42;   // any of 0 .. 2^64-1; a negative seed is refused
  int64_t threads = 0;  // 0: all cores
  // fp32|bf16|auto: the linear layers' weights and the attention products in bf16
  // (nn/precision.h); auto: where it pays
  std::string precision = "auto";
  int64_t max_steps = 0;
  int64_t eval_every = 0;        // 0: after every epoch
  int64_t log_every = 0;         // 0: about 20 lines per epoch
  int64_t checkpoint_every = 0;  // 0: only at the end of each epoch (and on Ctrl-C)
  bool bucket = true;
  // --- output -----------------------------------------------------------------------------
  std::string out;
  bool quiet_params = false;  // no parameter listing at all
  bool list_params = false;   // every parameter, `name: True/False` (default: the trainable ones)
  bool save_data_order = false;  // data_order.jsonl: the split, token ids and batch order
  // Checks values and combinations; throws ag::Error with one line naming the flag.
  void validate() const;
  // The checks of the adapter settings alone (--method ... --dora-dropout), for the apps that
  // build an adapter from add_adapter_flags() without training it.
  void validate_adapter() const;
  // The checks of --problem-type and --metric (validate() calls it).
  void validate_task() const;
  std::vector<std::string> target_list() const;
  bool uses_adapter() const { return method == "lora" || method == "dora"; }
  // Float labels, one output, MSE loss (transformers' problem_type "regression").
  bool is_regression() const { return problem_type == "regression"; }
  // Examples per optimizer micro-batch over all processes (what the training loader yields).
  int64_t global_batch() const { return global_batch_size > 0 ? global_batch_size : batch_size; }
};

// How this invocation treats the run folder: read before the settings, never saved with them.
struct RunFlags {
  std::string config_file;   // --config FILE
  std::string resume_dir;    // --resume DIR
  bool overwrite = false;    // --overwrite: remove the run's files in --out first
  std::string allow_change;  // --allow-change lr,epochs: settings --resume may change
};

// "a, b,c" -> {"a", "b", "c"} (spaces trimmed, empty items dropped).
std::vector<std::string> split_comma_list(const std::string& text);

nlohmann::json to_json(const TrainConfig& config);
// Sets the keys present in `j` (dashes or underscores); an unknown key or a value of the
// wrong type is an error naming `where` and the key. The records train_config.json keeps
// beside the settings (base digest, resume changes) are skipped.
void apply_json(TrainConfig& config, const nlohmann::json& j, const std::string& where);
void load_config_file(TrainConfig& config, const std::string& path);

// Binds every field to a flag of `app`. CLI11 writes a bound variable only when its flag is
// given, so flags parsed after load_config_file() override the file.
void add_train_options(CLI::App& app, TrainConfig& config, RunFlags& flags);

// Binds --model and the adapter settings (the "Adapter" group: --method, --r, --alpha,
// --dropout, --targets, --train-head, --scaling, --init, --dora-magnitude, --dora-dropout) with
// train's names, defaults and help: the one flag group of every app that builds an adapter, so
// they all build the same one from the same flags.
void add_adapter_flags(CLI::App& app, TrainConfig& config);

// The value of "--name X" / "--name=X" in argv, before CLI11 parses it (for --config and
// --resume, which decide the defaults the other flags override).
std::string find_flag_value(int argc, char** argv, const std::string& name);

}  // namespace ag::apps
