#pragma once
// Pang & Lee's sentence polarity data, as shipped by the Debian package python3-pattern
// (tools/get_polarity_data.sh fetches it).
//
// The file is /usr/share/doc/python3-pattern/test/corpora/polarity-en-pang&lee2.csv (the
// package's README swaps the names of pang&lee1 and pang&lee2: "2" holds the 4,000 SENTENCES,
// "1" the 1,500 full reviews). Format: UTF-8 with a byte-order mark, CSV with RFC 4180 quoting,
// no header, CRLF between records, two columns: the label ("1" positive, "-1" negative) and the
// lower-cased, space-tokenised sentence, which ends in " \n" inside its quotes. 2,000 positive
// and 2,000 negative sentences, a sample of the 10,662 of sentence polarity dataset v1.0
// (Pang & Lee, ACL 2005). The corpus README says the corpora are "meant for personal use, they
// are not part of the module's BSD license".

#include <string>

#include "data/dataset.h"

namespace ag::data {

// Reads the sentences with labels {"-1", "1"} -> ids {0, 1} named "negative" and "positive",
// as in SST-2 (the label map keeps "-1" and "1" as their data values). Trailing whitespace of
// each sentence is removed.
Dataset read_pang_lee_polarity(const std::string& path, bool skip_bad_rows = false);

}  // namespace ag::data
