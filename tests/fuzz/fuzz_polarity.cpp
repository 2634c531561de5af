// libFuzzer target: see polarity_entry in fuzz_entries.h. Run it with tools/fuzz.sh.
#include "fuzz_entries.h"

ADAPTGRAD_FUZZ_TARGET(polarity_entry)
