// What a run records about its inputs, and what --resume and the readers of a run check
// against it (build/bin/train, predict, merge as processes; tests/app_runner.h): the tokenizer
// files and the base's config.json by digest, every field of a checkpoint's state, and a
// hang-up (SIGHUP) that checkpoints like SIGTERM.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "app_runner.h"

namespace fs = std::filesystem;
using namespace app_runner;

namespace {

// A "pretrained" tiny DistilBERT folder with the demo's vocabulary: the random base of a demo
// run, copied to scratch()/name.
fs::path make_base(const std::string& name) {
  static bool trained = false;
  if (!trained) REQUIRE(run("train", demo_args("resume_seed") + " --max-steps 1").code == 0);
  trained = true;
  const fs::path base = scratch() / name;
  fs::remove_all(base);
  fs::create_directories(base);
  for (const char* f : {"base-model/config.json", "base-model/model.safetensors", "vocab.txt",
                        "tokenizer_config.json"})
    fs::copy_file(scratch() / "resume_seed" / f, base / fs::path(f).filename());
  return base;
}

std::string texts_file() {
  const fs::path p = scratch() / "resume_texts.txt";
  write(p, "the plot was truly wonderful .\nthe cast was awful .\n");
  return p.string();
}

// `text` with the first occurrence of `from` replaced by `to` (which must be there).
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// Rewrites the checkpoint of run `name` with `change` applied to its "state" metadata.
void edit_checkpoint_state(const std::string& name, const nlohmann::json& change) {
  const std::string path = (scratch() / name / "checkpoint" / "checkpoint.safetensors").string();
  const auto file = ag::safetensors::File::open(path);
  std::vector<ag::safetensors::NamedBuffer> buffers;
  for (const auto& info : file.tensors()) {
    const std::string_view bytes = file.raw_bytes(info.name);
    buffers.push_back({info.name, info.dtype, info.shape, bytes.data(), bytes.size()});
  }
  std::map<std::string, std::string> metadata = file.metadata();
  nlohmann::json state = nlohmann::json::parse(metadata.at("state"));
  for (auto& [key, value] : change.items()) {
    if (value.is_null())
      state.erase(key);
    else
      state[key] = value;
  }
  metadata["state"] = state.dump();
  const std::string bytes = ag::safetensors::serialize(buffers, metadata);
  write(path, bytes);
}

}  // namespace

TEST_CASE("--resume refuses a tokenizer whose files changed, naming the file") {
  if (!have_apps()) return;
  const fs::path base = make_base("resume_tok_base");
  const std::string dir = (scratch() / "resume_tok").string();
  REQUIRE(run("train_faults",
              demo_args("resume_tok") + " --model " + base.string() + " --interrupt-at-step 5")
              .code == 130);
  CHECK(slurp(scratch() / "resume_tok" / "train_config.json").find("\"tokenizer-digest\": {") !=
        std::string::npos);
  const std::string run_vocab = slurp(scratch() / "resume_tok" / "vocab.txt");
  // The same folder, two tokens of the vocabulary swapped: every id after them means another word.
  const std::string vocab = slurp(base / "vocab.txt");
  const size_t second = vocab.find('\n') + 1, third = vocab.find('\n', second) + 1;
  write(base / "vocab.txt",
        vocab.substr(second, third - second) + vocab.substr(0, second) + vocab.substr(third));
  const Result r = run("train", "--resume " + dir);
  check_one_line_error(r);
  CHECK(r.err.find("--tokenizer (default): vocab.txt fnv1a-64:") != std::string::npos);
  CHECK(r.err.find("differs from the checkpoint's fnv1a-64:") != std::string::npos);
  CHECK(r.err.find("--allow-change") != std::string::npos);
  CHECK(slurp(scratch() / "resume_tok" / "vocab.txt") == run_vocab);  // not overwritten
  CHECK(checkpoint_step("resume_tok") == 5);

  // Allowed explicitly: the run goes on with the new files and records the change.
  const Result allowed = run("train", "--resume " + dir + " --allow-change tokenizer");
  INFO(allowed.out << allowed.err);
  REQUIRE(allowed.code == 0);
  const auto config = nlohmann::json::parse(slurp(scratch() / "resume_tok" / "train_config.json"));
  REQUIRE(config.contains("resume-changes"));
  CHECK(config["resume-changes"][0]["setting"] == "tokenizer");
  CHECK(config["resume-changes"][0]["step"] == 5);
  CHECK(slurp(scratch() / "resume_tok" / "vocab.txt") == slurp(base / "vocab.txt"));
}

TEST_CASE("predict, merge and --resume refuse a base whose config.json changed") {
  if (!have_apps()) return;
  const fs::path base = make_base("resume_cfg_base");
  const std::string dir = (scratch() / "resume_cfg").string();
  REQUIRE(run("train_faults",
              demo_args("resume_cfg") + " --model " + base.string() + " --interrupt-at-step 5")
              .code == 130);
  REQUIRE(run("train", "--resume " + dir).code == 0);
  const Result before = run("predict", "--run " + dir + " --input " + texts_file());
  REQUIRE(before.code == 0);

  // Re-saved or re-labelled: the same base (keys reordered, spacing, id2label, version).
  auto config = nlohmann::json::parse(slurp(base / "config.json"));
  config["id2label"] = {{"0", "LABEL_0"}, {"1", "LABEL_1"}};
  config["transformers_version"] = "4.99.0";
  write(base / "config.json", config.dump());
  const Result relabelled = run("predict", "--run " + dir + " --input " + texts_file());
  INFO(relabelled.err);
  CHECK(relabelled.code == 0);
  CHECK(relabelled.out == before.out);

  // Another activation is another model: every reader refuses it, naming config.json.
  write(base / "config.json", replaced(slurp(base / "config.json"), "\"gelu\"", "\"relu\""));
  const Result p = run("predict", "--run " + dir + " --input " + texts_file());
  check_one_line_error(p);
  CHECK(p.err.find("(config.json fnv1a-64:") != std::string::npos);
  CHECK(p.err.find("is not the base the adapter") != std::string::npos);
  const Result m = run("merge", "--model " + base.string() + " --adapter " + dir + " --out " +
                                    (scratch() / "resume_cfg_merged").string());
  check_one_line_error(m);
  CHECK(m.err.find("config.json") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch() / "resume_cfg_merged"));
  const Result r = run("train", "--resume " + dir);
  check_one_line_error(r);
  CHECK(r.err.find("config.json fnv1a-64:") != std::string::npos);

  // A run recorded before config digests existed is checked on its weights, as recorded.
  auto settings = nlohmann::json::parse(slurp(scratch() / "resume_cfg" / "train_config.json"));
  REQUIRE(settings.erase("base-config-digest") == 1);
  write(scratch() / "resume_cfg" / "train_config.json", settings.dump(2));
  CHECK(run("predict", "--run " + dir + " --input " + texts_file()).code == 0);
  write(base / "model.safetensors", slurp(scratch() / "resume_seed" / "adapter_model.safetensors"));
  check_one_line_error(run("predict", "--run " + dir + " --input " + texts_file()));
}

TEST_CASE("--resume checks every field of the checkpoint's state, naming the file and key") {
  if (!have_apps()) return;
  const std::string dir = (scratch() / "resume_state").string();
  REQUIRE(run("train_faults", demo_args("resume_state") + " --interrupt-at-step 7").code == 130);
  const fs::path checkpoint = scratch() / "resume_state" / "checkpoint" / "checkpoint.safetensors";
  const std::string good = slurp(checkpoint);
  // demo_args: 30 steps (--max-steps), 2 epochs of 20 batches; the run stopped at step 7.
  const std::vector<std::pair<nlohmann::json, std::string>> damaged = {
      {{{"generator", "12x"}}, "state \"generator\": expected a decimal 64-bit unsigned number"},
      {{{"generator", 12}}, "state \"generator\": expected a decimal"},
      {{{"data_fingerprint", "-1"}}, "state \"data_fingerprint\": expected a decimal"},
      {{{"epoch", 1000000000}}, "state \"epoch\": expected an integer from 0 to 2"},
      {{{"step", 1000000000000}}, "state \"step\": expected an integer from 0 to 30"},
      {{{"step", 7.5}}, "state \"step\": expected an integer"},
      {{{"batch", -1}}, "state \"batch\": expected an integer from 0 to 20"},
      {{{"best_step", 8}}, "state \"best_step\": expected an integer from 0 to 7"},
      {{{"last_eval_step", 99}}, "state \"last_eval_step\""},
      {{{"adam_steps", 3}}, "state \"adam_steps\": expected an integer from 7 to 7"},
      {{{"train_seconds", -5}}, "state \"train_seconds\""},
      {{{"best_val_acc", 2}}, "state \"best_val_acc\""},
      {{{"batch", nullptr}}, "state \"batch\": missing"},
      {{{"step", 5}, {"adam_steps", 5}}, "tensor \"step_losses\": holds 7 losses"},
  };
  for (const auto& [change, message] : damaged) {
    INFO(change.dump());
    write(checkpoint, good);
    edit_checkpoint_state("resume_state", change);
    const Result r = run("train", "--resume " + dir);
    check_one_line_error(r);
    CHECK(r.err.find(checkpoint.string() + ": " + message) != std::string::npos);
  }
  write(checkpoint, good);
  const Result r = run("train", "--resume " + dir);
  INFO(r.out << r.err);
  CHECK(r.code == 0);
}

TEST_CASE("train: a hang-up (SIGHUP) writes a checkpoint and exits 129, like SIGTERM") {
  if (!have_apps()) return;
  const pid_t pid = spawn("train", demo_args("resume_hup") + " --epochs 1000 --max-steps 0");
  const fs::path checkpoint = scratch() / "resume_hup" / "checkpoint" / "checkpoint.safetensors";
  for (int i = 0; i < 600 && !fs::exists(checkpoint); ++i) usleep(50000);
  REQUIRE(fs::exists(checkpoint));
  kill(pid, SIGHUP);
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK_FALSE(WIFSIGNALED(status));  // it handled the signal, it was not killed by it
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 129);
  // The checkpoint of the moment it stopped resumes (to a shorter end, to keep the test short).
  const int64_t step = checkpoint_step("resume_hup");
  CHECK(step > 0);
  const Result r = run("train", "--resume " + (scratch() / "resume_hup").string() + " --epochs " +
                                    std::to_string(step / 20 + 2) + " --allow-change epochs");
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("resumed from") != std::string::npos);
}
