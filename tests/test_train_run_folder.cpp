// Run folders you can trust, end to end (build/bin/train, predict, merge as processes, on the
// synthetic demo task with tiny models; tests/app_runner.h): an output never overwrites an
// input, an existing run is never overwritten silently, one writer at a time, killed writers'
// temporaries are removed, an adapter is only applied to the base it was trained on, --resume
// refuses changed settings, and a run folder works from any directory.
#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "app_runner.h"
#include "core/io/file_digest.h"
#include "fixture.h"

namespace fs = std::filesystem;
using namespace app_runner;

namespace {

// Two "pretrained" tiny DistilBERT folders of the same shapes and different weights (the
// random bases of two demo runs with different seeds), with the demo's vocabulary.
struct Bases {
  fs::path a, b;
};

const Bases& bases() {
  static const Bases made = [] {
    for (const char* seed : {"1", "2"}) {
      const std::string run_name = std::string("rf_seed") + seed;
      REQUIRE(run("train", demo_args(run_name) + " --max-steps 1 --seed " + seed).code == 0);
      const fs::path base = scratch() / (std::string("base_") + seed);
      fs::create_directories(base);
      for (const char* f : {"base-model/config.json", "base-model/model.safetensors", "vocab.txt",
                            "tokenizer_config.json"})
        fs::copy_file(scratch() / run_name / f, base / fs::path(f).filename(),
                      fs::copy_options::overwrite_existing);
    }
    return Bases{scratch() / "base_1", scratch() / "base_2"};
  }();
  return made;
}

// A copy of base `from` at scratch()/name (tests that damage a base use their own copy).
fs::path copy_base(const fs::path& from, const std::string& name) {
  const fs::path to = scratch() / name;
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

// The demo settings on a pretrained base folder.
std::string base_args(const fs::path& base, const std::string& out) {
  return demo_args(out) + " --model " + base.string();
}

std::string texts_file() {
  const fs::path p = scratch() / "rf_texts.txt";
  write(p, "the plot was truly wonderful .\nthe cast was awful .\na dull film .\n");
  return p.string();
}

}  // namespace

TEST_CASE("file digest: FNV-1a 64 gives the published test vectors") {
  CHECK(ag::fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(ag::fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(ag::fnv1a64("foobar") == 0x85944171f73967e8ull);
  CHECK(ag::fnv1a64("bar", ag::fnv1a64("foo")) == ag::fnv1a64("foobar"));  // continues
  write(scratch() / "digest.bin", "foobar");
  CHECK(ag::fnv1a64_file((scratch() / "digest.bin").string()) == 0x85944171f73967e8ull);
  CHECK(ag::fnv1a64_digest_text(0x85944171f73967e8ull) == "fnv1a-64:85944171f73967e8");
  CHECK_THROWS_AS(ag::fnv1a64_file((scratch() / "no-such-file").string()), ag::Error);
}

TEST_CASE("train and merge refuse an output folder that is, contains or is inside an input") {
  if (!have_apps()) return;
  const fs::path model = copy_base(bases().a, "rf_in_model");
  const std::string weights_before = slurp(model / "model.safetensors");
  SUBCASE("train --out = --model (full fine-tuning would overwrite its weights)") {
    const Result r =
        run("train", base_args(model, "unused") + " --method full --out " + model.string());
    check_one_line_error(r);
    CHECK(r.err.find("is the --model input") != std::string::npos);
  }
  SUBCASE("train --out inside --model") {
    const Result r =
        run("train", base_args(model, "unused") + " --out " + (model / "run").string());
    check_one_line_error(r);
    CHECK(r.err.find("is inside the --model input") != std::string::npos);
    CHECK_FALSE(fs::exists(model / "run"));
  }
  SUBCASE("train --out through a symbolic link to --model (real paths compared)") {
    fs::remove(scratch() / "rf_link");
    fs::create_directory_symlink(model, scratch() / "rf_link");
    const Result r = run("train", base_args(model, "unused") + " --method head --out " +
                                      (scratch() / "rf_link").string());
    check_one_line_error(r);
    CHECK(r.err.find("--model") != std::string::npos);
  }
  SUBCASE("train --out containing the --data file") {
    fs::create_directories(scratch() / "rf_data_dir");
    std::string rows = "sentence\tlabel\n";
    for (int i = 0; i < 10; ++i) rows += "a fine film\t1\na dull film\t0\n";
    write(scratch() / "rf_data_dir" / "data.tsv", rows);
    const Result r = run("train", "--model " + model.string() + " --data " +
                                      (scratch() / "rf_data_dir" / "data.tsv").string() +
                                      " --out " + (scratch() / "rf_data_dir").string());
    check_one_line_error(r);
    CHECK(r.err.find("contains the --data input") != std::string::npos);
  }
  SUBCASE("merge --out = the base model folder or the adapter folder") {
    REQUIRE(run("train", base_args(model, "rf_in_run") + " --max-steps 2").code == 0);
    const std::string adapter = (scratch() / "rf_in_run").string();
    const Result r = run("merge", "--model " + model.string() + " --adapter " + adapter +
                                      " --out " + model.string());
    check_one_line_error(r);
    CHECK(r.err.find("is the --model input") != std::string::npos);
    const std::string config_before = slurp(scratch() / "rf_in_run" / "adapter_config.json");
    check_one_line_error(
        run("merge", "--model " + model.string() + " --adapter " + adapter + " --out " + adapter));
    CHECK(slurp(scratch() / "rf_in_run" / "adapter_config.json") == config_before);
  }
  CHECK(slurp(model / "model.safetensors") == weights_before);
}

TEST_CASE("train refuses a folder holding a run unless --resume or --overwrite") {
  if (!have_apps()) return;
  const std::string out = (scratch() / "rf_again").string();
  REQUIRE(run("train", base_args(bases().a, "rf_again") + " --max-steps 2").code == 0);
  const std::string adapter_before = slurp(scratch() / "rf_again" / "adapter_model.safetensors");
  const Result again = run("train", base_args(bases().a, "rf_again") + " --max-steps 3");
  check_one_line_error(again);
  CHECK(again.err.find("--resume") != std::string::npos);
  CHECK(again.err.find("--overwrite") != std::string::npos);
  CHECK(slurp(scratch() / "rf_again" / "adapter_model.safetensors") == adapter_before);

  // --overwrite removes the earlier run's files (not the user's), so no stale adapter stays
  // next to the new full model.
  write(scratch() / "rf_again" / "notes.txt", "mine");
  const Result full =
      run("train", base_args(bases().a, "rf_again") + " --max-steps 2 --method full --overwrite");
  INFO(full.out << full.err);
  REQUIRE(full.code == 0);
  CHECK_FALSE(fs::exists(scratch() / "rf_again" / "adapter_model.safetensors"));
  CHECK_FALSE(fs::exists(scratch() / "rf_again" / "adapter_config.json"));
  CHECK(fs::exists(scratch() / "rf_again" / "model.safetensors"));
  CHECK(slurp(scratch() / "rf_again" / "notes.txt") == "mine");
  const Result p = run("predict", "--run " + out + " --input " + texts_file());
  INFO(p.err);
  CHECK(p.code == 0);
  // An adapter copied next to a full model by hand: predict refuses the mixed folder.
  fs::copy_file(bases().a / "config.json", scratch() / "rf_again" / "adapter_config.json");
  const Result mixed = run("predict", "--run " + out + " --input " + texts_file());
  check_one_line_error(mixed);
  CHECK(mixed.err.find("mixes two runs") != std::string::npos);
  check_one_line_error(run("train", "--resume " + out + " --overwrite"));
}

TEST_CASE("train: a second process on the same --out is refused, naming the first one's PID") {
  if (!have_apps()) return;
  // Long enough to still be training when the second process starts; stopped with SIGTERM
  // once training (a checkpoint at the first epoch's end), so that SIGTERM is handled.
  const pid_t first = spawn("train", demo_args("rf_lock") + " --epochs 1000 --max-steps 0");
  const fs::path checkpoint = scratch() / "rf_lock" / "checkpoint" / "checkpoint.safetensors";
  for (int i = 0; i < 600 && !fs::exists(checkpoint); ++i) usleep(50000);
  REQUIRE(fs::exists(checkpoint));
  const Result second = run("train", demo_args("rf_lock"));
  check_one_line_error(second);
  CHECK(second.err.find("PID " + std::to_string(first)) != std::string::npos);
  CHECK(slurp(scratch() / "rf_lock" / "train.lock") == std::to_string(first) + "\n");
  kill(first, SIGTERM);
  CHECK(wait_for(first) == 143);  // the first run was not disturbed: it checkpoints on SIGTERM
}

TEST_CASE("train removes the temporaries of a killed run from its folder, and nothing else") {
  if (!have_apps()) return;
  REQUIRE(run("train_faults", demo_args("rf_tmp") + " --interrupt-at-step 7").code == 130);
  const fs::path dir = scratch() / "rf_tmp";
  const std::vector<fs::path> stale = {dir / "adapter_model.safetensors.tmp.999999",
                                       dir / "checkpoint" / "checkpoint.safetensors.tmp.123",
                                       dir / "base-model" / "model.safetensors.tmp.77"};
  const std::vector<fs::path> kept = {dir / "notes.tmp.txt", dir / "x.tmp.12a",
                                      scratch() / "outside.tmp.4242"};
  for (auto& p : stale) write(p, "half-written");
  for (auto& p : kept) write(p, "not ours");
  const Result r = run("train", "--resume " + dir.string());
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("removed 3 temporary file(s)") != std::string::npos);
  for (auto& p : stale) CHECK_MESSAGE(!fs::exists(p), p.string());
  for (auto& p : kept) CHECK_MESSAGE(fs::exists(p), p.string());
}

TEST_CASE("predict and merge refuse a base other than the one the adapter was trained on") {
  if (!have_apps()) return;
  const fs::path base = copy_base(bases().a, "rf_digest_base");
  const std::string out = (scratch() / "rf_digest").string();
  REQUIRE(run("train", base_args(base, "rf_digest") + " --max-steps 3").code == 0);
  CHECK(slurp(scratch() / "rf_digest" / "train_config.json")
            .find("\"base-model-digest\": \"fnv1a-64:") != std::string::npos);
  REQUIRE(run("predict", "--run " + out + " --input " + texts_file()).code == 0);
  // The same path now holds other weights of the same shapes.
  fs::copy_file(bases().b / "model.safetensors", base / "model.safetensors",
                fs::copy_options::overwrite_existing);
  const Result p = run("predict", "--run " + out + " --input " + texts_file());
  check_one_line_error(p);
  CHECK(p.err.find("is not the base the adapter") != std::string::npos);
  CHECK(p.out.empty());
  check_one_line_error(run("predict", "--run " + out + " --model " + bases().b.string()));
  const Result m = run("merge", "--model " + base.string() + " --adapter " + out + " --out " +
                                    (scratch() / "rf_digest_merged").string());
  check_one_line_error(m);
  CHECK_FALSE(fs::exists(scratch() / "rf_digest_merged"));
  // The right base by another path is fine.
  CHECK(
      run("predict", "--run " + out + " --model " + bases().a.string() + " --input " + texts_file())
          .code == 0);

  // A random-init run whose base-model/ was replaced (a re-run killed after writing it).
  REQUIRE(run("train", demo_args("rf_digest_random") + " --max-steps 3").code == 0);
  fs::copy_file(bases().b / "model.safetensors",
                scratch() / "rf_digest_random" / "base-model" / "model.safetensors",
                fs::copy_options::overwrite_existing);
  check_one_line_error(run("predict", "--run " + (scratch() / "rf_digest_random").string() +
                                          " --input " + texts_file()));
}

TEST_CASE("train --resume refuses settings that differ from the checkpoint's") {
  if (!have_apps()) return;
  const std::string dir = (scratch() / "rf_resume").string();
  REQUIRE(run("train_faults", demo_args("rf_resume") + " --interrupt-at-step 7").code == 130);
  const std::string config_before = slurp(scratch() / "rf_resume" / "train_config.json");
  // Another tokenizer of the same size: the run's vocabulary with two words swapped.
  std::string vocab = slurp(scratch() / "rf_resume" / "vocab.txt");
  const size_t second_line = vocab.find('\n') + 1, third_line = vocab.find('\n', second_line) + 1;
  vocab = vocab.substr(second_line, third_line - second_line) + vocab.substr(0, second_line) +
          vocab.substr(third_line);
  fs::create_directories(scratch() / "rf_tok");
  write(scratch() / "rf_tok" / "vocab.txt", vocab);
  fs::create_directories(scratch() / "rf_tiny_copy");
  fs::copy_file(scratch() / "tiny" / "config.json", scratch() / "rf_tiny_copy" / "config.json",
                fs::copy_options::overwrite_existing);
  for (const std::string& change :
       std::vector<std::string>{"--lr 0.001", "--epochs 3", "--batch-size 4", "--max-length 20",
                                "--model " + (scratch() / "rf_tiny_copy" / "config.json").string(),
                                "--tokenizer " + (scratch() / "rf_tok").string()}) {
    const Result r = run("train", "--resume " + dir + " " + change);
    INFO(change);
    check_one_line_error(r);
    CHECK(r.err.find(change.substr(0, change.find(' '))) != std::string::npos);
    CHECK(r.err.find("--allow-change") != std::string::npos);
  }
  check_one_line_error(run("train", "--resume " + dir + " --lr 0.001 --allow-change bogus"));
  CHECK(checkpoint_step("rf_resume") == 7);
  CHECK(slurp(scratch() / "rf_resume" / "train_config.json") == config_before);

  // An explicit change goes through and is recorded with the step it started at.
  const Result r = run("train", "--resume " + dir + " --lr 0.001 --allow-change lr");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const std::string saved = slurp(scratch() / "rf_resume" / "train_config.json");
  CHECK(saved.find("\"lr\": 0.001") != std::string::npos);
  CHECK(saved.find(R"("resume-changes": [)") != std::string::npos);
  CHECK(saved.find(R"("checkpoint": 0.005)") != std::string::npos);
  CHECK(saved.find(R"("setting": "lr")") != std::string::npos);
  CHECK(saved.find(R"("step": 7)") != std::string::npos);
}

TEST_CASE("a run folder names its base by absolute path and predicts the same from anywhere") {
  if (!have_apps()) return;
  // Trained from scratch() with a relative --model.
  copy_base(bases().a, "rf_rel_base");
  const Result t =
      run_command("cd " + scratch().string() + " && " + (bin_dir() / "train").string() + " " +
                  demo_args("rf_rel") + " --max-steps 3 --model rf_rel_base");
  INFO(t.out << t.err);
  REQUIRE(t.code == 0);
  const std::string run_dir = (scratch() / "rf_rel").string();
  CHECK(slurp(scratch() / "rf_rel" / "adapter_config.json")
            .find("\"base_model_name_or_path\": \"" + (scratch() / "rf_rel_base").string() +
                  "\"") != std::string::npos);
  const Result here = run("predict", "--run " + run_dir + " --input " + texts_file());
  REQUIRE(here.code == 0);
  // From another directory where "rf_rel_base" is another model of the same shapes.
  const fs::path elsewhere = scratch() / "rf_elsewhere";
  fs::remove_all(elsewhere);
  fs::create_directories(elsewhere);
  fs::copy(bases().b, elsewhere / "rf_rel_base", fs::copy_options::recursive);
  const Result there =
      run_command("cd " + elsewhere.string() + " && " + (bin_dir() / "predict").string() +
                  " --run " + run_dir + " --input " + texts_file());
  INFO(there.err);
  REQUIRE(there.code == 0);
  CHECK(there.out == here.out);

  // A relative base that does not exist from here: the error names adapter_config.json, not a
  // flag the user never gave.
  const fs::path old_style = scratch() / "rf_rel_old";
  fs::remove_all(old_style);
  fs::copy(run_dir, old_style, fs::copy_options::recursive);
  std::string config = slurp(old_style / "adapter_config.json");
  config.replace(config.find(scratch().string() + "/rf_rel_base"),
                 (scratch() / "rf_rel_base").string().size(), "runs/cache/base");
  write(old_style / "adapter_config.json", config);
  const Result missing = run("predict", "--run " + old_style.string() + " --input " + texts_file());
  check_one_line_error(missing);
  CHECK(missing.err.find("adapter_config.json: base_model_name_or_path runs/cache/base") !=
        std::string::npos);
  CHECK(missing.err.find("--model runs/cache") == std::string::npos);
}
