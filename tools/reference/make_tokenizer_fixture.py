#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/: a small WordPiece vocabulary of our own and the ids that
Hugging Face's BertTokenizer gives for our texts, for the C++ test test_tokenizer.cpp.

The vocabulary is built here (build_vocabulary) from the texts of
tools/reference/tokenizer_texts.py, so the repository holds no third-party
vocabulary. The expected ids come from transformers v5's BertTokenizer, the tokenizers-backed
("fast", Rust) one users get by default, uncased and cased; the ids of the Python tokenizer
(BertTokenizerLegacy in v5, BertTokenizer before) are stored beside them where they differ
("python_ids", "python_input_ids"), for the C++ tokenizer's legacy_python option.

    . .venv/bin/activate && python tools/reference/make_tokenizer_fixture.py

Output (FIXTURE_VERSION bumps when the layout changes; the C++ test checks it):
    uncased/{vocab.txt,tokenizer_config.json}    cased/{vocab.txt,tokenizer_config.json}
    json_only/tokenizer.json                      cases.json
"""

import collections
import json
import os
import shutil
import sys
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import tokenizers  # noqa: E402
import transformers  # noqa: E402
from transformers import BertTokenizerFast  # noqa: E402
from transformers.models.bert.tokenization_bert import load_vocab  # noqa: E402

try:  # transformers v5: the Python tokenizer is BertTokenizerLegacy
    from transformers.models.bert.tokenization_bert_legacy import BasicTokenizer
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as PythonBert
except ImportError:  # transformers v4
    from transformers import BertTokenizer as PythonBert
    from transformers.models.bert.tokenization_bert import BasicTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tokenizer_texts import SENTENCES, TORTURE, UNICODE_15, sentence_pairs  # noqa: E402

FIXTURE_VERSION = 2
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
VOCAB_SIZE = 3000
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def vocabulary_corpus():
    """Our sentences (as typed and lower-cased) and every other torture text, so that the
    characters of the remaining torture texts stay unknown and exercise [UNK]."""
    texts = list(SENTENCES) + [s.lower() for s in SENTENCES]
    texts += [t for i, (_, t) in enumerate(TORTURE) if i % 2 == 0 and len(t) < 100]
    return texts


def build_vocabulary():
    """A deterministic WordPiece vocabulary from word, prefix and suffix counts.

    (tokenizers' WordPieceTrainer breaks ties differently from run to run, so it is not used.)
    Entries: the special tokens; every character as a word start and as a "##" continuation;
    then, by decreasing count, whole words seen twice, and word prefixes / "##" suffixes of 2-5
    characters seen three times, up to VOCAB_SIZE.
    """
    words = collections.Counter()
    for lower in (False, True):
        basic = BasicTokenizer(do_lower_case=lower)
        for text in vocabulary_corpus():
            words.update(basic.tokenize(text))
    chars = sorted({c for w in words for c in w})
    pieces = collections.Counter()
    for word, count in words.items():
        if count >= 2 and len(word) > 1:
            pieces[word] += count
        for n in range(2, 6):
            if len(word) > n:
                pieces[word[:n]] += count
                pieces["##" + word[-n:]] += count
    vocab = SPECIAL + chars + ["##" + c for c in chars]
    seen = set(vocab)
    for piece, count in sorted(pieces.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(vocab) >= VOCAB_SIZE:
            break
        if piece not in seen and (count >= 3 or not piece.startswith("##") and count >= 2):
            vocab.append(piece)
            seen.add(piece)
    return vocab


def fast_tokenizer(vocab_txt, do_lower_case):
    # In transformers v5 the fast BertTokenizer takes the vocabulary as a dict (`vocab=`); a
    # `vocab_file=` argument would be silently ignored.
    return BertTokenizerFast(vocab=load_vocab(vocab_txt), do_lower_case=do_lower_case)


def write_folder(name, vocab_lines, do_lower_case):
    folder = os.path.join(OUT, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(vocab_lines) + "\n")
    config = {"do_lower_case": do_lower_case, "strip_accents": None, "tokenize_chinese_chars": True,
              "model_max_length": 64, "tokenizer_class": "BertTokenizer"}
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    return folder


def write_json_only(uncased_folder):
    """tokenizer.json alone (no vocab.txt, no tokenizer_config.json): the other loading path."""
    folder = os.path.join(OUT, "json_only")
    os.makedirs(folder, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        fast_tokenizer(os.path.join(uncased_folder, "vocab.txt"), True).save_pretrained(tmp)
        shutil.copy(os.path.join(tmp, "tokenizer.json"), os.path.join(folder, "tokenizer.json"))


def encode_cases(slow, fast, texts):
    cases = []
    for name, text in texts:
        ids = fast(text)["input_ids"]
        case = {"name": name, "text": text, "ids": ids, "tokens": fast.convert_ids_to_tokens(ids)}
        python_ids = slow(text)["input_ids"]
        if python_ids != ids:
            case["python_ids"] = python_ids
        cases.append(case)
    return cases


def pair_cases(slow, fast):
    cases = []
    for text, pair, max_length in sentence_pairs():
        kwargs = {"truncation": "longest_first", "max_length": max_length} if max_length else {}
        fast_out = fast(text, pair, **kwargs)
        slow_out = slow(text, pair, return_token_type_ids=True, **kwargs)
        case = {"text": text, "text_pair": pair, "max_length": max_length,
                "input_ids": fast_out["input_ids"], "token_type_ids": fast_out["token_type_ids"]}
        # Longest-first with an odd number of ids left to share: the Python tokenizer gives the
        # spare id to the first text, the fast one to the longer text. An empty text_pair is no
        # pair for the fast one.
        if slow_out["input_ids"] != fast_out["input_ids"]:
            case["python_input_ids"] = slow_out["input_ids"]
            case["python_token_type_ids"] = slow_out["token_type_ids"]
        cases.append(case)
    for text in SENTENCES[:6]:
        for max_length in (2, 5, 9):
            out = fast(text, truncation=True, max_length=max_length)
            cases.append({"text": text, "max_length": max_length, "input_ids": out["input_ids"]})
    return cases


def decode_cases(slow, texts):
    """decode() of the Python tokenizer: the fast one's WordPiece decoder cleans up the spaces
    whatever clean_up_tokenization_spaces says."""
    cases = []
    for _, text in texts:
        ids = slow(text)["input_ids"]
        for skip in (False, True):
            for clean_up in (True, False):
                cases.append({"ids": ids, "skip_special_tokens": skip, "clean_up": clean_up,
                              "text": slow.decode(ids, skip_special_tokens=skip,
                                                  clean_up_tokenization_spaces=clean_up)})
    return cases


def main():
    vocab_lines = build_vocabulary()
    uncased_folder = write_folder("uncased", vocab_lines, True)
    cased_folder = write_folder("cased", vocab_lines, False)
    write_json_only(uncased_folder)

    texts = [(f"sentence_{i}", s) for i, s in enumerate(SENTENCES)] + TORTURE
    out = {"version": FIXTURE_VERSION,
           "generator": "tools/reference/make_tokenizer_fixture.py",
           "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
           "python_unicode": __import__("unicodedata").unidata_version,
           "vocab_size": len(vocab_lines)}
    for mode, folder, lower in (("uncased", uncased_folder, True), ("cased", cased_folder, False)):
        slow = PythonBert(os.path.join(folder, "vocab.txt"), do_lower_case=lower)
        fast = fast_tokenizer(os.path.join(folder, "vocab.txt"), lower)
        out[mode] = encode_cases(slow, fast, texts)
        if lower:
            out["pairs"] = pair_cases(slow, fast)
            out["decode"] = decode_cases(slow, texts[:8] + TORTURE[-3:])
            out["unicode15"] = encode_cases(slow, fast, UNICODE_15)
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=0)
        f.write("\n")
    n = len(out["uncased"]) + len(out["cased"])
    python_diffs = sum("python_ids" in c for c in out["uncased"] + out["cased"])
    pair_diffs = sum("python_input_ids" in c for c in out["pairs"])
    print(f"wrote {OUT}: vocabulary of {len(vocab_lines)}, {n} encodings "
          f"({python_diffs} where the Python tokenizer differs), {len(out['pairs'])} truncation "
          f"cases ({pair_diffs} where it differs), {len(out['decode'])} decode cases")


if __name__ == "__main__":
    main()
