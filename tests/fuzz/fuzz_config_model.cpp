// libFuzzer target: see config_model_entry in fuzz_entries.h. Run it with tools/fuzz.sh.
#include "fuzz_entries.h"

ADAPTGRAD_FUZZ_TARGET(config_model_entry)
