// What the apps write, and what they never write over (build/bin/train, merge, hidden_states as
// processes, tests/app_runner.h): hidden_states --output follows train's and merge's output
// rules; --overwrite removes an earlier run's files only after every input has been checked,
// and only from a folder train wrote; merge refuses a non-empty --out unless --overwrite; a
// refused run leaves no lock file or folder behind.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <string>

#include "app_runner.h"

namespace fs = std::filesystem;
using namespace app_runner;

namespace {

// A "pretrained" tiny DistilBERT folder as the hub has them (config.json, model.safetensors,
// vocab.txt, tokenizer_config.json; no train_config.json): the random base of a demo run.
const fs::path& hub_model() {
  static const fs::path made = [] {
    REQUIRE(run("train", demo_args("out_seed") + " --max-steps 1").code == 0);
    const fs::path base = scratch() / "out_hub_model";
    fs::create_directories(base);
    for (const char* f : {"base-model/config.json", "base-model/model.safetensors", "vocab.txt",
                          "tokenizer_config.json"})
      fs::copy_file(scratch() / "out_seed" / f, base / fs::path(f).filename(),
                    fs::copy_options::overwrite_existing);
    return base;
  }();
  return made;
}

// A copy of the hub model at scratch()/name.
fs::path copy_model(const std::string& name) {
  const fs::path to = scratch() / name;
  fs::remove_all(to);
  fs::copy(hub_model(), to, fs::copy_options::recursive);
  return to;
}

// Every file of `dir` (recursively) with its bytes, to show that nothing changed (train.lock
// aside: each train process that locks the folder writes its PID there).
std::map<std::string, std::string> contents(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename() != "train.lock")
      files[fs::relative(entry.path(), dir).string()] = slurp(entry.path());
  return files;
}

}  // namespace

TEST_CASE("hidden_states --output refuses a FIFO, a symbolic link and its own inputs") {
  if (!have_apps()) return;
  const fs::path model = copy_model("out_hs_model");
  const fs::path input = scratch() / "out_hs_input.txt";
  write(input, "a fine film\nthe cast was awful .\n");
  const std::string args =
      "--model " + model.string() + " --input " + input.string() + " --output ";
  const std::string weights = slurp(model / "model.safetensors");

  const fs::path fifo = scratch() / "out_hs_fifo";
  fs::remove(fifo);
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  const Result to_fifo = run("hidden_states", args + fifo.string());
  check_one_line_error(to_fifo);
  CHECK(to_fifo.err.find("--output " + fifo.string() + " is a FIFO") != std::string::npos);
  CHECK(fs::is_fifo(fifo));  // still the FIFO, not a regular file renamed over it

  const fs::path target = scratch() / "out_hs_target", link = scratch() / "out_hs_link";
  write(target, "keep me");
  fs::remove(link);
  fs::create_symlink(target, link);
  const Result to_link = run("hidden_states", args + link.string());
  check_one_line_error(to_link);
  CHECK(to_link.err.find("is a symbolic link (to " + target.string() + ")") != std::string::npos);
  CHECK(fs::is_symlink(link));
  CHECK(slurp(target) == "keep me");

  const Result to_weights = run("hidden_states", args + (model / "model.safetensors").string());
  check_one_line_error(to_weights);
  CHECK(to_weights.err.find("is inside the --model input") != std::string::npos);
  CHECK(slurp(model / "model.safetensors") == weights);

  const Result to_input = run("hidden_states", args + input.string());
  check_one_line_error(to_input);
  CHECK(to_input.err.find("is the --input input") != std::string::npos);
  CHECK(slurp(input) == "a fine film\nthe cast was awful .\n");

  // A regular file, new or old, is what --output is for.
  const fs::path out = scratch() / "out_hs.safetensors";
  write(out, "an older result");
  const Result ok = run("hidden_states", args + out.string());
  INFO(ok.err);
  REQUIRE(ok.code == 0);
  CHECK(ag::safetensors::File::open(out.string()).info("last_hidden_state").shape.at(0) == 2);
}

TEST_CASE("train --overwrite checks every input before it removes the earlier run") {
  if (!have_apps()) return;
  const std::string out = (scratch() / "out_again").string();
  REQUIRE(run("train", demo_args("out_again") + " --max-steps 2").code == 0);
  const auto before = contents(out);
  REQUIRE(before.count("adapter_model.safetensors") == 1);
  for (const std::string& mistake :
       {std::string("--model ") + (scratch() / "tiny" / "typo.json").string(),
        std::string("--demo=false --data ") + (scratch() / "no_such.tsv").string(),
        std::string("--targets query,nonexistent")}) {
    INFO(mistake);
    const Result r = run("train", demo_args("out_again") + " --overwrite " + mistake);
    check_one_line_error(r);
    CHECK(contents(out) == before);  // the earlier run is whole
  }
  // Nothing wrong: the earlier run goes, the new one takes its place.
  const Result r = run("train", demo_args("out_again") + " --overwrite --max-steps 3");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("--overwrite: removed the") != std::string::npos);
  CHECK(checkpoint_step("out_again") == 3);
}

TEST_CASE("--overwrite clears only a train run; merge refuses a non-empty --out") {
  if (!have_apps()) return;
  // A model folder from the hub is not a run: --overwrite must not take its files.
  const fs::path hub = copy_model("out_hub_copy");
  const auto hub_before = contents(hub);
  const Result r = run("train", demo_args("unused") + " --overwrite --out " + hub.string());
  check_one_line_error(r);
  CHECK(r.err.find("no train_config.json of a train run") != std::string::npos);
  CHECK(contents(hub) == hub_before);  // no config.json or model.safetensors lost, no lock left

  // merge: an existing merged model is replaced only with --overwrite.
  REQUIRE(run("train", demo_args("out_merge_run") + " --max-steps 2").code == 0);
  const std::string run_dir = (scratch() / "out_merge_run").string();
  const std::string merge_args =
      "--model " + run_dir + "/base-model --adapter " + run_dir + " --out ";
  const fs::path merged = scratch() / "out_merged";
  fs::remove_all(merged);
  fs::create_directories(merged);
  write(merged / "model.safetensors", "an earlier merge");
  write(merged / "tokenizer.json", "{\"stale\": true}");
  write(merged / "README.md", "mine");
  const Result refused = run("merge", merge_args + merged.string());
  check_one_line_error(refused);
  CHECK(refused.err.find("already holds files") != std::string::npos);
  CHECK(refused.err.find("--overwrite") != std::string::npos);
  CHECK(slurp(merged / "model.safetensors") == "an earlier merge");
  const Result replaced = run("merge", merge_args + merged.string() + " --overwrite");
  INFO(replaced.err);
  REQUIRE(replaced.code == 0);
  CHECK(slurp(merged / "model.safetensors") != "an earlier merge");
  CHECK_FALSE(fs::exists(merged / "tokenizer.json"));  // merge's own files only: the stale one
  CHECK(slurp(merged / "README.md") == "mine");        // goes, the user's stays
  CHECK(slurp(merged / "vocab.txt") == slurp(scratch() / "out_merge_run" / "vocab.txt"));

  // A train run folder is never a merge's --out, --overwrite or not.
  REQUIRE(run("train", demo_args("out_full_run") + " --max-steps 2 --method full").code == 0);
  const auto run_before = contents(scratch() / "out_full_run");
  const Result into_run =
      run("merge", merge_args + (scratch() / "out_full_run").string() + " --overwrite");
  check_one_line_error(into_run);
  CHECK(into_run.err.find("is a train run folder") != std::string::npos);
  CHECK(contents(scratch() / "out_full_run") == run_before);
}

TEST_CASE("a refused train run leaves no lock file and no folder behind") {
  if (!have_apps()) return;
  SUBCASE("--out holding other files") {
    const fs::path hub = copy_model("out_lock_hub");
    check_one_line_error(run("train", demo_args("unused") + " --out " + hub.string()));
    CHECK_FALSE(fs::exists(hub / "train.lock"));
  }
  SUBCASE("a new --out, and a mistake in --model") {
    const fs::path fresh = scratch() / "out_lock_new" / "run";
    fs::remove_all(scratch() / "out_lock_new");
    const Result r = run("train", demo_args("unused") + " --out " + fresh.string() + " --model " +
                                      (scratch() / "tiny" / "typo.json").string());
    check_one_line_error(r);
    CHECK_FALSE(fs::exists(scratch() / "out_lock_new"));  // both folders it created are gone
  }
  SUBCASE("--resume with the --out of another folder") {
    REQUIRE(run("train_faults", demo_args("out_lock_resumed") + " --interrupt-at-step 3").code ==
            130);
    const fs::path other = scratch() / "out_lock_other";
    fs::remove_all(other);
    const Result r = run("train", "--resume " + (scratch() / "out_lock_resumed").string() +
                                      " --out " + other.string());
    check_one_line_error(r);
    CHECK(r.err.find("--out " + other.string() + " is not the folder of the run") !=
          std::string::npos);
    CHECK_FALSE(fs::exists(other));
    CHECK(checkpoint_step("out_lock_resumed") == 3);
  }
  SUBCASE("a lock file that was there before stays") {
    REQUIRE(run("train", demo_args("out_lock_kept") + " --max-steps 1").code == 0);
    REQUIRE(fs::exists(scratch() / "out_lock_kept" / "train.lock"));
    check_one_line_error(run("train", demo_args("out_lock_kept")));
    CHECK(fs::exists(scratch() / "out_lock_kept" / "train.lock"));
  }
}
