"""Texts for tokenizer parity checks, shared by make_tokenizer_fixture.py and compare_tokenizer.py.

SENTENCES: short movie-review-like sentences written for this project (not taken from any
dataset), mixed case and punctuation as people type them.
TORTURE: a Unicode torture list. Every entry is (name, text); the texts go through JSON, so they
may hold any code point, including NUL, control and format characters.
UNICODE_15: characters assigned in Unicode 15.0. Python 3.11's unicodedata (Unicode 14) calls
them unassigned ("Cn"), so the Python tokenizer deletes them as control characters, while
utf8proc 2.8 (Unicode 15) -- and Python >= 3.12 -- knows them. Reported separately, never part of
the 100% parity claim.
"""

SENTENCES = [
    "A quietly moving film about grief, memory and the people who stay.",
    "The plot is paper-thin, but the performances carry it anyway.",
    "I laughed, I cried, I checked my watch twice.",
    "Not the worst movie of the year... but it's close!",
    "Its charms are undeniable; its flaws are easy to forgive.",
    "What a mess: two hours of noise signifying nothing.",
    "The director's best work since her remarkable debut.",
    "Gorgeous to look at, dull to sit through.",
    "An unexpectedly tender comedy that never talks down to kids.",
    "Don't waste your money -- or your evening.",
    "It's smart, funny and over far too soon.",
    "The dialogue sounds like it was written by a committee of robots.",
    "A thrilling, beautifully shot adventure with a heart of gold.",
    "Predictable? Yes. Enjoyable? Absolutely.",
    "The second half drags, and the twist is visible from a mile away.",
    "Every frame feels handmade, every line feels earned.",
    "I wanted to like it more than I did.",
    "Hands down the funniest film I've seen in years!!!",
    "A bloated, self-important slog that confuses length with depth.",
    "Warm, witty and wise -- a small miracle of a movie.",
    "The actors seem as bored as the audience.",
    "It won't change your life, but it might make your weekend.",
    "Sharp writing, sharper editing, and a score that lingers.",
    "The CGI looks unfinished and the story looks abandoned.",
    "She gives the performance of her career in a role that could've been a cliche.",
    "Neither clever nor original, though mercifully short.",
    "By the end, I was rooting for the villain.",
    "A near-perfect blend of suspense, humor and genuine feeling.",
    "The sequel nobody asked for, made by people who didn't care.",
    "Stunning visuals can't rescue a screenplay this lazy.",
    "You'll leave the theater humming the songs.",
    "An overlong, underwritten mess with a great cast wasted.",
    "It's the kind of movie that makes you call your mother afterwards.",
    "Fresh, fierce and frequently hilarious.",
    "The jokes land about 30% of the time; the rest is filler.",
    "Two thumbs up -- the best $12 I've spent all month.",
    "a mediocre remake of a mediocre original",
    "unaffable characters in an unremarkable town",
    "the film 's sense of humor is , at best , uneven .",
    "it 's a charming and often affecting journey .",
]

LONG_WORD = "pneumonoultramicroscopicsilicovolcanoconiosis" * 3  # 135 characters

TORTURE = [
    # accents in several scripts
    ("french", "Crème brûlée à la façon de Noël, s'il vous plaît."),
    ("naive_cafe", "naïve café résumé façade coöperate"),
    ("german", "Straße, Größe, Übermaß und ẞ (capital sharp s)"),
    ("nordic", "Ångström, Ærøskøbing, Þórsmörk, Øresund"),
    ("vietnamese", "Tiếng Việt có dấu: người, được, những"),
    ("polish", "Zażółć gęślą jaźń"),
    ("czech", "Příliš žluťoučký kůň úpěl ďábelské ódy"),
    ("turkish", "İstanbul'da ılık bir gün; IĞDIR ve İZMİR"),
    ("greek", "Καλημέρα κόσμε, ΟΔΥΣΣΕΥΣ και ΣΊΣΥΦΟΣ."),
    ("greek_final_sigma", "ΣΑΣ ΟΔΟΣ. ΑΣ'Σ Σ ΑΣ-Β ΑΣ\u0301 Α\u0301Σ ΑΣΑ"),
    ("cyrillic", "Съешь же ещё этих мягких французских булок, да выпей чаю. ЁЖИК"),
    ("hebrew_niqqud", "שָׁלוֹם עוֹלָם"),
    ("arabic", "مَرْحَبًا بِالْعَالَمِ — العربية الفصحى"),
    ("arabic_digits", "٣٤٥ و ۱۲۳"),
    ("devanagari", "नमस्ते दुनिया, हिन्दी भाषा ١२३ १२३"),
    ("bengali_tamil", "বাংলা ভাষা தமிழ் மொழி"),
    ("thai", "สวัสดีครับ ภาษาไทย"),
    ("armenian_georgian", "Բարեւ ձեզ ქართული ენა"),
    ("ethiopic_cherokee", "ሰላም ለዓለም ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ"),
    ("tibetan_mongolian", "བོད་ཡིག ᠮᠣᠩᠭᠣᠯ"),
    # CJK
    ("chinese", "我爱自然语言处理。今天天气很好！"),
    ("japanese", "東京は日本の首都です。カタカナとひらがな、ｶﾀｶﾅ。"),
    ("korean", "안녕하세요 세계! 한국어 텍스트"),
    ("cjk_compat", "\uf900\uf901\ufa0e \U0002f800\U0002f801"),
    ("cjk_ext", "𠀀𠀁 \U0002a700 \U0002b740 \U0002b820 \u3400\u4dbf \u9fff"),
    ("cjk_mixed", "BERT模型は中文와한국어를mixed処理する"),
    ("cjk_punct", "「引用」、『書名』。【注】〜"),
    ("fullwidth", "ＡＢＣ１２３！？ ｆｕｌｌｗｉｄｔｈ"),
    ("hangul_jamo", "\u1100\u1161\u11a8 \u1112\u1161\u11ab"),
    # emoji
    ("emoji", "I love it 😍👍🏽 so much 🎬🍿"),
    ("emoji_zwj", "family 👨\u200d👩\u200d👧\u200d👦 and ❤️ and 🏳️\u200d🌈"),
    ("emoji_flags_keycaps", "🇫🇷🇯🇵 1️⃣ #️⃣"),
    ("emoji_attached", "great!!😂😂 terrible👎"),
    # control and zero-width characters
    ("zero_width", "zero\u200bwidth\u200cnon\u200djoiner\u2060word"),
    ("bom_inside", "\ufeffBOM at start and \ufeff inside"),
    ("soft_hyphen", "soft\u00adhyphen and bidi \u200e\u200f\u202a\u202c marks"),
    ("c0_controls", "bell\x07 nul\x00 esc\x1b del\x7f vt\x0b ff\x0c fs\x1c end"),
    ("c1_controls", "next\x85line and \x80\x9f c1"),
    ("replacement", "broken \ufffd char\ufffd"),
    ("private_use", "private \ue000\uf8ff and \U000f0000 use"),
    ("unassigned", "unassigned \u0378 \U0001ffff and noncharacter \ufdd0\uffff"),
    ("tags", "tag \U000e0001\U000e0041 chars"),
    ("separators", "line\u2028separator para\u2029separator"),
    ("unicode_spaces", "nbsp\u00a0thin\u2009hair\u200aideo\u3000narrow\u202fogham\u1680end"),
    ("mongolian_vowel_sep", "a\u180eb"),
    # combining marks
    ("combining_decomposed", "e\u0301cole cafe\u0301 nai\u0308ve"),
    ("combining_stacked", "a\u0308\u0304 o\u0327\u0301 q\u0323\u0307 A\u030a"),
    ("zalgo", "Z\u0324\u0308a\u0333l\u032fg\u0359o\u033e text"),
    ("lone_combining", "\u0301 \u0308\u0304 x \u20dd"),
    ("spacing_marks", "क\u093e \u0d15\u0d4a"),
    ("compat_signs", "\u212a Kelvin \u212b Angstrom \u2126 Ohm"),
    # very long words
    ("long_word_135", LONG_WORD),
    ("word_100", "a" * 100),
    ("word_101", "b" * 101),
    ("word_99_accent", "x" * 99 + "é"),
    ("long_with_punct", LONG_WORD + "!" + LONG_WORD[:20]),
    ("long_accented", "é" * 101),
    ("long_cjk_run", "中" * 120),
    # punctuation runs
    ("punct_runs", "!!!???... --- ,,, ;;; ::: '''"),
    ("ascii_symbols", "$100 + 5% = ~^`|<>@#&*_\\"),
    ("quotes", "«guillemets» “curly” ‘single’ „low“ ‹one›"),
    ("dashes", "em—dash en–dash ‐hyphen ‒ ― … • § ¶ † ‡"),
    ("urls", "e-mail: user.name+tag@example.com http://x.y/z?q=1&r=2#frag"),
    ("code", "C++ & C# / F#: __init__(self, *args, **kwargs) -> None"),
    ("spanish_marks", "¿Qué tal? ¡Sí!"),
    ("math", "∀x∈ℝ: x² ≥ 0 ∑ ∞ ≠ ± ½ ① ⅷ"),
    ("math_alnum", "𝐁𝐨𝐥𝐝 𝕯𝖔𝖚𝖇𝖑𝖊 𝟙𝟚𝟛"),
    ("ligatures", "ﬁnance ﬂow ﬀ"),
    ("currency", "€5 £3 ¥100 ₹20 ₿1"),
    # empty and whitespace-only
    ("empty", ""),
    ("space", " "),
    ("whitespace_mix", " \t\n\r  "),
    ("unicode_whitespace_only", "\u3000\u00a0\u2003"),
    ("controls_only", "\x00\x01\x02\u200b"),
    # mixed case, tabs and newlines
    ("mixed_case", "HeLLo WoRLD iPhone McDonald's ALL CAPS CamelCaseWord"),
    ("tabs_newlines", "line one\nline two\ttabbed\r\nwindows\rold mac"),
    ("numbers", "3.14159 1,000,000 2nd 10km 24/7 90's"),
    # special tokens written in the text
    ("special_tokens", "hello [SEP] world [CLS][MASK] x[PAD]y"),
    ("special_lower", "[sep] [unk] [Mask] [SEP"),
    ("unk_token", "[UNK] is unknown"),
]

UNICODE_15 = [
    ("unicode15_emoji", "shaking face \U0001fae8 and pink heart \U0001fa77"),
    ("unicode15_cjk_ext_h", "ext-h \U00031350\U00031351"),
]


def sentence_pairs():
    """(text, text_pair, max_length) cases for truncation checks."""
    s = SENTENCES
    return [
        (s[0], s[1], 0),
        (s[0], s[1], 16),
        (s[2], s[3], 12),
        (s[12], s[13], 20),  # long first, short second
        (s[13], s[12], 20),  # short first, long second
        (s[5], s[5], 15),  # equal lengths, odd number to remove
        (s[5], s[5], 14),
        ("short", s[18], 9),
        (s[18], "", 8),
        ("", "", 3),
        (s[24], s[31], 32),
    ] + [  # every sentence with the next, both ways round, to an even and an odd budget
        (s[i], s[(i + 1) % len(s)], max_length)
        for i in range(len(s)) for max_length in (16, 17)
    ]
