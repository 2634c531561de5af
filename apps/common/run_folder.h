// Output folders you can trust: never an input, one writer at a time, no leftovers, no silent
// overwrite.
//
//   check_output_apart_from_inputs   an output folder that is, contains or is inside an input
//                                    (model, tokenizer, adapter, data; by real path) is refused
//   RunFolderLock                    an exclusive flock on <run>/train.lock for the whole run;
//                                    a second writer is refused with the first one's PID
//   prepare_run_folder               removes killed writers' "<name>.tmp.<pid>" files, then
//                                    refuses a folder that already holds files unless the run
//                                    is resumed or --overwrite removes the run's own files
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

inline constexpr const char* kRunLockFile = "train.lock";

// Creates `dir` if needed and holds an exclusive lock on dir/train.lock until destroyed
// (the kernel releases it when the process dies, even by SIGKILL). The file holds the PID.
class RunFolderLock {
 public:
  explicit RunFolderLock(const std::string& dir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  int fd_ = -1;
};

// Removes "<name>.tmp.<digits>" files (the temporaries of atomic writes whose process died)
// from `dir` and from its checkpoint/ and base-model/ folders, nothing else. Call it only
// while holding the folder's RunFolderLock. Returns how many were removed.
int remove_stale_temporaries(const std::string& dir);

// Before a run writes into `dir` (locked): removes stale temporaries; then a folder holding any
// other file is refused, unless `resume`, or `overwrite`, which first removes the files of
// run_file_names() (and only those). Says what it removed on `log`.
void prepare_run_folder(const std::string& dir, bool resume, bool overwrite, std::ostream& log);

}  // namespace ag::apps
