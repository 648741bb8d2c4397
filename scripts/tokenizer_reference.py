#!/usr/bin/env python3
r"""Reference data for aidc-engine's tokenizer test (tests/engine/test_tokenizer.cpp), from the Python
`tokenizers` package (Hugging Face's own implementation; nothing else is needed, no network).

Builds a small byte-level BPE tokenizer the way DeepSeek-V3's tokenizer.json is built (the three Split
regexes of its pre-tokenizer, then ByteLevel; ByteLevel decoder; its begin/end-of-sentence special
tokens; a TemplateProcessing post-processor that puts the bos token first), trains it on the fixed
corpus below and writes into --out:
  tokenizer.json                 as `tokenizers` saves it, merges spelled as [a, b] pairs
  tokenizer_string_merges.json   the same tokenizer with merges spelled "a b" and non-ASCII text as
                                 \u escapes (as older files and Python's json module write them)
  tokenizer_config.json          bos/eos tokens and a small chat template, as transformers writes them
  cases.json                     per text: ids (no special tokens added), ids with them added, and the
                                 decoded text with and without special tokens
Usage: python3 scripts/tokenizer_reference.py --out tests/engine/data/tokenizer
"""
import argparse
import json
import os
import tempfile

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
VOCAB_SIZE = 1500

# DeepSeek-V3's pre-tokenizer: digit runs of up to three, CJK runs, then words/punctuation/whitespace.
DEEPSEEK_V3_SPLITS = [
    r"\p{N}{1,3}",
    "[一-龥\u3040-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
    "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]

CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}<｜User｜>{{ message['content'] }}"
    "{% else %}<｜Assistant｜>{{ message['content'] }}{{ eos_token }}{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<｜Assistant｜>{% endif %}"
)

PROSE = """\
The engine serves a model over HTTP. Requests arrive, wait in a queue, and are batched together by the
scheduler; each step runs one forward pass for every running sequence. Throughput rises with the batch
size until the GPU is saturated, while the time to the first token grows with the queue. We measure the
time per output token, the end-to-end latency and the power drawn by each GPU, then compare them with
what the simulator predicted for the same workload. When a server fails, the load balancer notices
after a few failed health checks and routes new requests elsewhere; requests already in flight fail.
It's a simple idea, but they've found that it doesn't always hold: we'll see why, and you'd be surprised.
"""

CODE = """\
def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask == 0, float('-inf'))
    return torch.softmax(scores, dim=-1) @ v

for (int i = 0; i < n; ++i) {
\tsum += a[i] * b[i];  // dot product
}
std::vector<int> ids = tokenizer.encode("Hello, world!");
if (x != nullptr && y >= 0) { return {x, y}; }
<div class="note">See https://example.com/docs?page=2&lang=en#intro</div>
"""

CJK = """\
部署DeepSeek R1满血版需要多少张H100？深度求索发布了新的大语言模型，支持中文和英文。
模型的推理速度取决于显存带宽和批处理大小。我们在八张显卡上测试了吞吐量和首字延迟。
こんにちは、世界！カタカナとひらがなを使います。東京で会議があります。
안녕하세요 세계. 한국어 문장도 조금 있습니다.
"""

EMOJI_AND_SYMBOLS = """\
I ❤️ open models 🤗🚀 and fast GPUs 🔥🔥🔥. Family: 👨‍👩‍👧‍👦, flag: 🏳️‍🌈, thumbs: 👍🏽👍🏿.
∑ x² ≤ ∞, α β γ δ, café naïve résumé Straße, ＡＢＣ１２３, №5, ½ ¾, €100 £50 ¥1000.
"""


def corpus():
    """The fixed training corpus: prose, code, CJK, emoji, numbers and whitespace of every kind."""
    lines = [PROSE, CODE, CJK, EMOJI_AND_SYMBOLS]
    for i in range(300):
        lines.append(f"Request {i} took {(i * 37) % 1000} ms at {1000 + i * 13} tokens/s; batch={i % 64}\n")
        lines.append(f"请求{i}的延迟是{(i * 7) % 500}毫秒。\n")
    lines.append("    four spaces\n\t\ttwo tabs\n\n\nthree newlines\r\nwindows line\n" * 20)
    return lines * 3


TEXTS = [
    "",
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "部署DeepSeek R1满血版需要多少张H100？",
    "深度求索（DeepSeek）发布了新模型。",
    "こんにちは、世界！カタカナとひらがな",
    "안녕하세요 세계",
    "1234567890 3.14159 -42 1,000,000",
    "def f(x):\n\treturn x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "a    b\t\t c\n\n\n  d   ",
    "     ",
    "\n\n\r\n",
    "\t\t\tindented\n    four spaces\n",
    "I ❤️ 🤗 and 🚀!",
    "👨‍👩‍👧‍👦 family, 🏳️‍🌈 flag, 👍🏽 thumbs",
    BOS + "Hello" + EOS,
    "User: hi" + EOS + BOS + "Assistant: hello",
    "  " + BOS + "  x",
    "x" + EOS + EOS + "y",
    "<｜begin▁of▁sentence",
    "I'm sure you'll see they've done it",
    "...!!!???---***",
    "https://example.com/path?q=1&r=2#frag",
    "GPT-4o vs. DeepSeek-V3: 671B params, 37B active.",
    "café naïve résumé Straße",
    "e\u0301 vs \u00e9",
    "مرحبا بالعالم שלום",
    "नमस्ते दुनिया",
    "∑_{i=1}^{n} x_i² ≤ ∞",
    "a" * 40,
    "ＡＢＣ１２３",
    "null\x00byte\x1bescape\x7f",
    "a\u00a0b\u3000c\u0085d\u2028e",
    "٣٤٥ ①② Ⅻ",
]


def build_tokenizer():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([])
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(p), behavior="isolated", invert=False) for p in DEEPSEEK_V3_SPLITS]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=2,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A $B:1", special_tokens=[(BOS, bos_id)]
    )
    return tok


def with_merges_as(document, spelling):
    """The tokenizer.json document with its merges spelled as pairs [a, b] or strings "a b"."""
    doc = json.loads(json.dumps(document))
    pairs = [m if isinstance(m, list) else m.split(" ") for m in doc["model"]["merges"]]
    doc["model"]["merges"] = pairs if spelling == "pairs" else [" ".join(p) for p in pairs]
    return doc


def write_json(path, value, ascii_escapes=False):
    """Whole or not at all: a temporary file beside the target, then a rename."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=ascii_escapes, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for the four files")
    out = parser.parse_args().out
    os.makedirs(out, exist_ok=True)

    document = json.loads(build_tokenizer().to_str())
    files = {
        "tokenizer.json": with_merges_as(document, "pairs"),
        "tokenizer_string_merges.json": with_merges_as(document, "strings"),
    }
    # Both spellings must load in `tokenizers` itself and encode alike, or the test would check nothing.
    reloaded = [Tokenizer.from_str(json.dumps(doc)) for doc in files.values()]
    tok = reloaded[0]
    cases = []
    for text in TEXTS:
        ids = tok.encode(text, add_special_tokens=False).ids
        for other in reloaded[1:]:
            assert other.encode(text, add_special_tokens=False).ids == ids, text
        cases.append({
            "text": text,
            "ids": ids,
            "ids_add_special": tok.encode(text, add_special_tokens=True).ids,
            "decoded": tok.decode(ids, skip_special_tokens=True),
            "decoded_with_special": tok.decode(ids, skip_special_tokens=False),
        })

    special = {"__type": "AddedToken", "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    config = {
        "add_bos_token": True,
        "add_eos_token": False,
        "bos_token": dict(special, content=BOS),
        "eos_token": dict(special, content=EOS),
        "chat_template": CHAT_TEMPLATE,
        "tokenizer_class": "LlamaTokenizerFast",
    }
    for name, doc in files.items():
        write_json(os.path.join(out, name), doc, ascii_escapes=name != "tokenizer.json")
    write_json(os.path.join(out, "tokenizer_config.json"), config)
    write_json(os.path.join(out, "cases.json"), {
        "tokenizers_version": tokenizers.__version__,
        "bos_id": tok.token_to_id(BOS),
        "eos_id": tok.token_to_id(EOS),
        "vocab_size": max(tok.get_vocab(with_added_tokens=True).values()) + 1,
        "cases": cases,
    })
    print(f"{out}: vocabulary {tok.get_vocab_size(with_added_tokens=True)}, "
          f"{len(document['model']['merges'])} merges, {len(cases)} cases (tokenizers {tokenizers.__version__})")


if __name__ == "__main__":
    main()
