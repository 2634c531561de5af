// libFuzzer target: see tsv_entry in fuzz_entries.h. Run it with tools/fuzz.sh.
#include "fuzz_entries.h"

ADAPTGRAD_FUZZ_TARGET(tsv_entry)
