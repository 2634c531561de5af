#!/usr/bin/env bash
# Fetches Pang & Lee's sentence polarity sample (4,000 English movie-review sentences, 2,000
# positive and 2,000 negative) from the Debian package python3-pattern, without installing it.
#
#   tools/get_polarity_data.sh [DEST]        (default DEST: ./runs/data/polarity)
#
# Writes DEST/pang_lee_sentence_polarity.csv (read it with ag::data::read_pang_lee_polarity)
# and DEST/README-pattern-corpora.txt (the corpus notes, including their licence note: "meant
# for personal use, not part of the module's BSD license"). Prints one line saying where the
# data is, or one line on stderr and exits non-zero if it cannot.
#
# In the package the file is /usr/share/doc/python3-pattern/test/corpora/polarity-en-pang&lee2.csv
# (its README swaps the descriptions of pang&lee1 and pang&lee2: "2" holds the sentences).
set -euo pipefail

dest="${1:-./runs/data/polarity}"
target="$dest/pang_lee_sentence_polarity.csv"
expected_sha256="1b9975e7c33f487bc2187fffdc55213fdbb84bac4f6c1852b5dd40912411f53f"

fail() {
  echo "get_polarity_data: $*" >&2
  exit 1
}

if [[ -s "$target" ]]; then
  echo "polarity data: $target (already there)"
  exit 0
fi
command -v apt-get >/dev/null || fail "needs apt-get and dpkg-deb (a Debian system)"
command -v dpkg-deb >/dev/null || fail "needs dpkg-deb (a Debian system)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd_and_download() { (cd "$work" && apt-get download -q python3-pattern >/dev/null 2>&1); }
if ! cd_and_download; then
  # The package lists may be missing or stale: refresh them once (needs root) and retry.
  apt-get update -qq >/dev/null 2>&1 || true
  cd_and_download || fail "cannot download python3-pattern with apt-get download"
fi
deb="$(ls "$work"/python3-pattern_*.deb 2>/dev/null | head -n 1)"
[[ -n "$deb" ]] || fail "apt-get download produced no python3-pattern_*.deb"
dpkg-deb -x "$deb" "$work/extracted" || fail "cannot unpack $deb"

corpora="$work/extracted/usr/share/doc/python3-pattern/test/corpora"
source_csv="$corpora/polarity-en-pang&lee2.csv"
[[ -s "$source_csv" ]] || fail "the package has no $source_csv"
actual_sha256="$(sha256sum "$source_csv" | cut -d' ' -f1)"
[[ "$actual_sha256" == "$expected_sha256" ]] ||
  fail "unexpected contents (sha256 $actual_sha256): the package changed; check the format"

mkdir -p "$dest" 2>/dev/null || fail "cannot create $dest"
cp "$corpora/README.txt" "$dest/README-pattern-corpora.txt"
cp "$source_csv" "$target.tmp" && mv "$target.tmp" "$target" || fail "cannot write $target"
echo "polarity data: $target (4,000 sentences, labels 1 = positive, -1 = negative)"
