// Output folders and files you can trust: never an input, never something that is not ours to
// replace, one writer at a time, no leftovers, no silent overwrite, nothing removed before
// every input has been checked.
//
//   check_output_apart_from_inputs   an output that is, contains or is inside an input
//                                    (model, tokenizer, adapter, data; by real path) is refused
//   check_output_folder              an output folder (train, merge --out) that exists as
//                                    something else (a file, a device) is refused
//   check_output_file                an output file (hidden_states --output) that exists as
//                                    something other than a regular file (a device, a FIFO, a
//                                    folder, a symbolic link), or aliases an input, is refused
//   RunFolderLock                    an exclusive flock on <run>/train.lock for the whole run;
//                                    a second writer is refused with the first one's PID; a
//                                    run refused before it wrote anything leaves no lock behind
//   check_run_folder                 removes killed writers' "<name>.tmp.<pid>" files, then
//                                    refuses a folder that already holds files unless the run
//                                    is resumed or --overwrite names a train run folder
//   remove_previous_run              --overwrite, once every input is checked: removes the
//                                    earlier run's files, and only those
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ag::apps {

struct NamedPath {
  std::string flag;  // "--model"
  std::string path;  // "" or a name that is not on disk (a preset) is skipped
};

// Throws ag::Error naming both flags when `out` is, contains or is inside one of `inputs`.
void check_output_apart_from_inputs(const NamedPath& out, const std::vector<NamedPath>& inputs);

// Throws ag::Error naming the flag when `out` exists and is not a folder (or a link to one).
void check_output_folder(const NamedPath& out);

// For an output file written by temporary file + rename: the rename would replace whatever is
// at that name, so anything but a regular file there (a character device such as /dev/full, a
// FIFO, a socket, a folder, a symbolic link) is refused, and so is an input (by real path).
void check_output_file(const NamedPath& out, const std::vector<NamedPath>& inputs);

inline constexpr const char* kRunLockFile = "train.lock";

// Creates `dir` if needed and holds an exclusive lock on dir/train.lock until destroyed
// (the kernel releases it when the process dies, even by SIGKILL). The file holds the PID.
// Destroyed before keep() (the run was refused or failed before writing anything), it removes
// the lock file and the folders it created, so that a refused run leaves nothing behind.
class RunFolderLock {
 public:
  explicit RunFolderLock(const std::string& dir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

  // Called just before the run's first write: from then on the lock file and folder stay.
  void keep() { keep_ = true; }

 private:
  void release();  // unlocks; before keep(), also removes what the constructor created

  int fd_ = -1;
  std::string lock_path_;
  std::vector<std::string> created_folders_;  // innermost first
  bool created_lock_file_ = false;
  bool keep_ = false;
};

// Removes "<name>.tmp.<digits>" files (the temporaries of atomic writes whose process died)
// from `dir` and from its checkpoint/ and base-model/ folders, nothing else. Call it only
// while holding the folder's RunFolderLock. Returns how many were removed.
int remove_stale_temporaries(const std::string& dir);

// True when dir/train_config.json (or checkpoint/train_config.json) holds a train run's
// settings: the folders --overwrite may clear. A model folder downloaded from the hub is not
// one, even though it holds config.json and model.safetensors.
bool is_train_run_folder(const std::string& dir);

// Before a run writes into `dir` (locked): removes stale temporaries; then a folder holding any
// other file is refused, unless `resume`, or `overwrite` and the folder is a train run folder.
// Removes nothing else: remove_previous_run() does, once every input has been checked.
void check_run_folder(const std::string& dir, bool resume, bool overwrite, std::ostream& log);

// --overwrite: removes the files of run_file_names() (and only those) from `dir`, and its
// checkpoint/ and base-model/ folders when nothing else is left in them. Says so on `log`.
void remove_previous_run(const std::string& dir, std::ostream& log);

// The names of the entries of folder `dir` other than the lock file, sorted ("" when `dir`
// does not exist); `describe_entries` lists the first three for a message.
std::vector<std::string> folder_entries(const std::string& dir);
std::string describe_entries(const std::vector<std::string>& names);

}  // namespace ag::apps
