// libFuzzer target: see adapter_config_entry in fuzz_entries.h. Run it with tools/fuzz.sh.
#include "fuzz_entries.h"

ADAPTGRAD_FUZZ_TARGET(adapter_config_entry)
