// libFuzzer target: see tokenizer_entry in fuzz_entries.h. Run it with tools/fuzz.sh.
#include "fuzz_entries.h"

ADAPTGRAD_FUZZ_TARGET(tokenizer_entry)
