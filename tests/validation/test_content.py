"""The content checks, on Records built by hand, and the content corpus through validate_files."""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from shipwise.finetune.hosted_cost import example_tokens, load_counter
from shipwise.tasks.docs import Document, read_documents
from shipwise.tasks.example import Message
from shipwise.tasks.task import OutputSpec
from shipwise.validation.content import default_analyzers
from shipwise.validation.duplicates import DuplicatesAnalyzer
from shipwise.validation.model import SPLIT_ORDER, Context, Finding, HostedPricing, Record, Tokens
from shipwise.validation.run import validate_files
from shipwise.validation.similarity import normalize, signatures, similarity

CORPUS = Path(__file__).parent / "corpus_content"
LABELS = ("billing", "shipping", "returns")
SYSTEM = "Route the customer's message."
VOCABULARY = (
    "parcel invoice refund courier warehouse label address postcode driver van depot tracking "
    "customer order basket voucher discount receipt payment card bank transfer delay damaged "
    "missing wrong size colour exchange sofa lamp kettle jacket boots phone charger cable "
    "monday tuesday friday weekend morning evening urgent today yesterday neighbour door "
    "porch garden office flat building lift stairs signature photo email website app account"
)
WORDS = VOCABULARY.split()


def record(
    line: int, user: str, answer: str, split: str = "train", system: str | None = SYSTEM
) -> Record:
    messages = [Message("system", system)] if system is not None else []
    messages += [Message("user", user), Message("assistant", answer)]
    return Record(split, f"{split}.jsonl", line, tuple(messages))


def sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.sample(WORDS, n)).capitalize() + "?"


def clean(split: str, n: int = 60, seed: int = 0, start: int = 1) -> list[Record]:
    """``n`` varied examples with every label, far from each other and from other seeds."""
    rng = random.Random(f"{split}-{seed}")
    return [record(start + i, sentence(rng), LABELS[i % len(LABELS)], split) for i in range(n)]


def analyze(
    splits: dict[str, Sequence[Record]], context: Context | None = None, batch: int = 16
) -> tuple[list[Finding], dict[str, Any]]:
    """Feed the default analyzers as validate_files does: split order, in batches."""
    analyzers = default_analyzers(context or Context(OutputSpec("label", labels=LABELS)))
    for split in [s for s in SPLIT_ORDER if s in splits]:
        records = list(splits[split])
        for i in range(0, len(records), batch):
            for analyzer in analyzers:
                analyzer.observe(records[i : i + batch])
    findings: list[Finding] = []
    stats: dict[str, Any] = {}
    for analyzer in analyzers:
        found, block = analyzer.finish()
        findings += found
        stats[analyzer.name] = block
    return findings, stats


def only(findings: list[Finding], check: str) -> list[Finding]:
    return [f for f in findings if f.check == check]


def words(texts: list[str]) -> list[int]:
    return [len(t.split()) for t in texts]


def test_clean_data_has_no_findings() -> None:
    tokens = Tokens("words", words, per_message=2, per_example=1, context_window=100)
    hosted = HostedPricing("gpt-4o-mini", "approx", "auto", 3.0, 65_536)
    context = Context(OutputSpec("label", labels=LABELS), tokens, max_length=90, hosted=hosted)
    findings, _ = analyze({s: clean(s) for s in ("train", "val", "test")}, context)
    assert findings == []


# --- size ------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "severity"), [(6, "error"), (30, "warning"), (50, None)])
def test_size_thresholds(n: int, severity: str | None) -> None:
    findings, stats = analyze({"train": clean("train", n), "test": clean("test")})
    sized = only(findings, "size")
    assert stats["size"] == {"train": n, "test": 60}
    if severity is None:
        assert sized == []
        return
    (finding,) = sized
    assert (finding.severity, finding.split, finding.file) == (severity, "train", "train.jsonl")
    assert finding.message == f"only {n} examples in train"
    assert "at least 10" in finding.fix and "50-100" in finding.fix and "OpenAI" in finding.fix


# --- duplicates, contradictions, near-duplicates -----------------------------------------


def test_duplicate_is_a_warning_in_train_and_an_error_in_test() -> None:
    train, test = clean("train"), clean("test")
    train.append(record(61, train[2].user_text, train[2].output_text))
    test.append(record(61, test[4].user_text, test[4].output_text, "test"))
    findings, stats = analyze({"train": train, "test": test})
    assert [(f.severity, f.split, f.line, f.message) for f in findings] == [
        ("warning", "train", 61, "same messages and answer as line 3"),
        ("error", "test", 61, "same messages and answer as line 5"),
    ]
    assert "counts double" in findings[1].fix
    assert stats["duplicates"]["test"]["duplicate"] == 1


def test_contradiction_names_both_lines() -> None:
    train = clean("train")
    other = "returns" if train[1].output_text != "returns" else "billing"
    train.append(record(61, train[1].user_text.upper() + "!!", other))
    (finding,) = analyze({"train": train})[0]
    assert (finding.check, finding.severity, finding.line) == ("contradiction", "error", 61)
    assert finding.message.startswith("lines 2 and 61 have the same input")


def test_near_duplicates_by_normalization_and_by_minhash() -> None:
    train = clean("train")
    train.append(record(61, "  " + train[3].user_text.lower().replace("?", " ..."), "billing"))
    train.append(record(62, train[7].user_text + " Please", train[7].output_text))
    findings, _ = analyze({"train": train})
    assert [(f.check, f.severity, f.line) for f in findings] == [
        ("near_duplicate", "warning", 61),
        ("near_duplicate", "warning", 62),
    ]
    assert "identical to line 4 apart from case, spacing or punctuation" in findings[0].message
    assert findings[1].message.startswith("input nearly identical to line 8 (")


def test_a_different_system_prompt_is_a_different_input() -> None:
    train = clean("train")
    train.append(record(61, train[0].user_text, "shipping", system="Answer in French."))
    findings, _ = analyze({"train": train})
    # Not a contradiction (the instructions differ), but the question is repeated.
    assert [f.check for f in findings] == ["near_duplicate"]


# --- leakage -------------------------------------------------------------------------------


def test_leakage_exact_near_and_val() -> None:
    train, val, test = clean("train"), clean("val"), clean("test")
    near = train[10].user_text.lower().replace(" ", "  ") + " thanks"
    val.append(record(61, train[20].user_text, train[20].output_text, "val"))
    test.append(record(61, train[5].user_text, train[5].output_text, "test"))
    test.append(record(62, val[8].user_text, val[8].output_text, "test"))
    test.append(record(63, near, train[10].output_text, "test"))
    leaks = only(analyze({"train": train, "val": val, "test": test})[0], "leakage")
    assert [(f.severity, f.split, f.line) for f in leaks] == [
        ("warning", "val", 61),
        ("error", "test", 61),
        ("error", "test", 62),
        ("warning", "test", 63),  # near, not exact: a warning to look
    ]
    assert leaks[0].message == "input also in train (the few-shot pool) at line 21"
    assert leaks[1].message == "input also in train (the few-shot pool) at line 6"
    assert leaks[2].message == "input also in val at line 9"
    assert leaks[3].message.startswith(
        "input nearly identical to train (the few-shot pool) line 11"
    )


def test_leakage_through_a_document() -> None:
    test = clean("test")
    question = test[12].user_text
    faq = f"# FAQ\n\nQ: {question.upper()}\nA: That is a {test[12].output_text} question.\n"
    docs = [Document("faq", faq, "docs/faq.md"), Document("other", "Nothing here.", "x.md")]
    context = Context(OutputSpec("label", labels=LABELS), documents=docs)
    findings, _ = analyze({"train": clean("train"), "test": test}, context)
    (finding,) = findings
    assert (finding.check, finding.severity, finding.line) == ("leakage", "error", 13)
    assert "both appear in document 'faq' (docs/faq.md)" in finding.message


def test_a_document_with_the_question_but_not_the_answer_is_no_leak() -> None:
    test = clean("test")
    docs = [Document("faq", f"Q: {test[0].user_text}\nA: ask someone else", "faq.md")]
    context = Context(OutputSpec("label", labels=LABELS), documents=docs)
    assert analyze({"test": test}, context)[0] == []


# --- answers: labels, JSON, balance --------------------------------------------------------


def test_unknown_label_suggests_the_near_miss() -> None:
    train = clean("train")
    train[4] = record(5, train[4].user_text, "Billing.")
    train[5] = record(6, train[5].user_text, "refunds")
    findings = only(analyze({"train": train})[0], "unknown_label")
    assert [(f.severity, f.line) for f in findings] == [("error", 5), ("error", 6)]
    assert (
        findings[0].message
        == "label 'Billing.' is not one of the task's labels (did you mean 'billing'?)"
    )
    assert findings[1].message.endswith("(billing, shipping, returns)")


JSON_SPEC = OutputSpec("json", fields={"intent": LABELS, "urgency": ("low", "high"), "note": None})


def json_records(split: str, answers: list[str]) -> list[Record]:
    base = clean(split, len(answers))
    return [record(r.line, r.user_text, a, split) for r, a in zip(base, answers, strict=True)]


def test_json_answers_are_checked_against_the_fields() -> None:
    good = json.dumps({"intent": "billing", "urgency": "low", "note": "x"})
    answers = [
        good,
        "not json at all",
        json.dumps({"intent": "billing"}),
        json.dumps({"intent": "billing", "urgency": "soon", "note": "x"}),
        json.dumps({"intent": "billing", "urgency": "low", "note": "x", "extra": 1}),
        "Sure! " + good,
        json.dumps(["billing", "low"]),
    ]
    context = Context(JSON_SPEC)
    findings = only(analyze({"train": json_records("train", answers)}, context)[0], "output_format")
    assert [(f.line, f.severity) for f in findings] == [
        (2, "error"),
        (3, "error"),
        (4, "error"),
        (5, "warning"),
        (6, "warning"),
        (7, "error"),
    ]
    assert findings[0].message == "the answer is not a JSON object: 'not json at all'"
    assert findings[1].message == "the answer lacks field 'urgency'; lacks field 'note'"
    assert findings[2].message == "the answer field 'urgency' is 'soon', not one of low, high"
    assert findings[3].message == "the answer has field(s) extra not in task.output.fields"
    assert "text around" in findings[4].message


def test_a_list_field_is_checked_and_counted_item_by_item() -> None:
    spec = OutputSpec("json", fields={"tags": LABELS}, lists=["tags"])
    answers = [json.dumps({"tags": [LABELS[i % 3], LABELS[(i + 1) % 3]]}) for i in range(60)]
    answers[3] = json.dumps({"tags": ["billing", "refunds"]})
    answers[4] = json.dumps({"tags": "billing"})
    answers[5] = json.dumps({"tags": None})  # no label applies
    findings, stats = analyze({"train": json_records("train", answers)}, Context(spec))
    errors = only(findings, "output_format")
    assert [(f.line, f.message) for f in errors] == [
        (4, "the answer field 'tags' holds 'refunds', not one of billing, shipping, returns"),
        (5, "the answer field 'tags' is \"billing\", not a list"),
    ]
    counts = stats["balance"]["counts"]["tags"]["train"]
    assert sum(counts.values()) == 2 * 57 + 1 + 1 + 1  # every item of every list


def test_a_list_field_of_codes_is_warned_about_as_coded_labels_are() -> None:
    spec = OutputSpec("json", fields={"labels": ["0", "1", "2"]}, lists=["labels"])
    answers = [json.dumps({"labels": [str(i % 3)]}) for i in range(60)]
    findings, _ = analyze({"train": json_records("train", answers)}, Context(spec))
    (coded,) = only(findings, "coded_labels")
    assert coded.message.startswith("the labels (0, 1, 2) are codes")
    assert "--label-map 0=NAME,1=NAME,2=NAME" in coded.fix


def test_balance_counts_missing_classes_and_imbalance() -> None:
    train = clean("train", 66)
    train = [
        record(r.line, r.user_text, "billing" if i < 63 else "shipping")
        for i, r in enumerate(train)
    ]
    test = clean("test")
    findings, stats = analyze({"train": train, "test": test})
    assert stats["balance"]["counts"]["label"] == {
        "train": {"billing": 63, "shipping": 3, "returns": 0},
        "test": {"billing": 20, "shipping": 20, "returns": 20},
    }
    assert [(f.check, f.severity) for f in findings] == [
        ("class_missing_train", "warning"),
        ("imbalance", "warning"),
    ]
    assert findings[0].message == "1 of 3 allowed labels never appear in train: returns"
    assert findings[1].message == "label 'billing' has 63 train examples, 21x the 3 of 'shipping'"


def test_json_balance_is_per_field_with_allowed_values() -> None:
    answers = [
        json.dumps({"intent": LABELS[i % 3], "urgency": "low", "note": str(i)}) for i in range(60)
    ]
    findings, stats = analyze({"test": json_records("test", answers)}, Context(JSON_SPEC))
    assert stats["balance"]["counts"] == {
        "intent": {"test": {"billing": 20, "shipping": 20, "returns": 20}},
        "urgency": {"test": {"low": 60, "high": 0}},
    }
    (finding,) = findings
    assert finding.check == "class_missing_test"
    assert finding.message == "1 of 2 allowed field 'urgency' values never appear in test: high"


# --- tokens and hosted cost ----------------------------------------------------------------


class CountingWords:
    """Whitespace word counts, remembering each batch it was given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[int]:
        self.calls.append(list(texts))
        return words(texts)


def test_token_statistics_are_exact() -> None:
    counter = CountingWords()
    tokens = Tokens("words", counter, per_message=2, per_example=1)
    # Examples of 1..10 user words + a 1-word answer (system "a b"): 2+u+1 content tokens,
    # plus 3 messages x 2 + 1 = 7 framing -> 11..20 tokens.
    train = [record(u, " ".join(["w"] * u), "billing", system="a b") for u in range(1, 11)]
    _, stats = analyze({"train": train}, Context(tokens=tokens), batch=4)
    assert stats["tokens"]["splits"]["train"] == {
        "examples": 10,
        "tokens": {"min": 11, "p10": 11.9, "median": 15.5, "p90": 19.1, "max": 20, "total": 155},
        "assistant_tokens": {
            "min": 1,
            "p10": 1.0,
            "median": 1.0,
            "p90": 1.0,
            "max": 1,
            "total": 10,
        },
    }
    # One call per batch of 4, 4, 2 records; the shared system prompt and label counted once.
    assert len(counter.calls) == 3
    assert counter.calls[2] == ["a b", " ".join(["w"] * 9), "billing", " ".join(["w"] * 10)]


def test_over_context_and_over_max_length() -> None:
    tokens = Tokens("words", words, per_message=0, per_example=0, context_window=12)
    train = clean("train")  # 14-word questions: 15 tokens, no system prompt counted below
    train = [record(r.line, r.user_text, r.output_text, system=None) for r in train[:50]]
    train[3] = record(4, "short one", "billing", system=None)
    train[4] = record(5, " ".join(["w"] * 9), "billing", system=None)
    context = Context(OutputSpec("label", labels=LABELS), tokens, max_length=8)
    findings, _ = analyze({"train": train}, context)
    over = [f for f in findings if f.check.startswith("over_")]
    assert len(only(over, "over_context")) == 48
    (warning,) = only(over, "over_max_length")
    assert (warning.severity, warning.line) == ("warning", 5)
    assert (
        warning.message == "10 tokens, more than max_length 8: will be truncated in LoRA training"
    )
    first = only(over, "over_context")[0]
    assert (first.severity, first.line) == ("error", 1)
    assert first.message == "15 tokens, more than the 12-token context window of words"


def test_hosted_cost_matches_hosted_cost_module() -> None:
    train = clean("train", 60)
    hosted = HostedPricing("gpt-4o-mini", "approx", "auto", 3.0, 40)
    _, stats = analyze({"train": train, "test": clean("test")}, Context(hosted=hosted))
    count, _ = load_counter("approx")
    per_example = [example_tokens([m.as_dict() for m in r.messages], count) for r in train]
    per_epoch = sum(min(40, t) for t in per_example)
    assert stats["hosted_cost"] == {
        "model": "gpt-4o-mini",
        "tokenizer": "approx",
        "examples": 60,
        "tokens_per_epoch": per_epoch,
        "capped_examples": sum(t > 40 for t in per_example),
        "max_tokens_per_example": 40,
        "n_epochs": 3,  # auto: 60 examples x 3 epochs is within [100, 25000]
        "n_epochs_setting": "auto",
        "billed_tokens": per_epoch * 3,
        "usd": round(per_epoch * 3 * 3.0 / 1e6, 4),
        "usd_per_1m_tokens": 3.0,
    }
    assert stats["hosted_cost"]["capped_examples"] > 0


def test_default_analyzers_follow_the_context() -> None:
    names = [a.name for a in default_analyzers(Context())]
    assert names == ["size", "split_ids", "duplicates"]
    tokens = Tokens("words", words)
    hosted = HostedPricing("m", "approx", 1, 1.0, 10)
    full = default_analyzers(Context(OutputSpec("label", labels=LABELS), tokens, hosted=hosted))
    assert [a.name for a in full] == [
        "size",
        "split_ids",
        "duplicates",
        "balance",
        "tokens",
        "hosted_cost",
    ]


# --- similarity and memory -----------------------------------------------------------------


def test_normalize_and_signatures_agree() -> None:
    texts = ["Où est  mon COLIS ? — “urgent”", "où est mon colis urgent", "", "\x1e odd\nline"]
    assert normalize(texts[0]) == "où est mon colis urgent"
    sig = signatures(texts)
    assert sig.key[0] == sig.key[1] != sig.key[3]
    assert list(sig.empty) == [False, False, True, False]
    assert similarity(sig.minhash[:1], sig.minhash[1:2])[0] == 1.0
    assert signatures(["odd line"]).key[0] == sig.key[3]


def synthetic(n: int, batch: int = 256) -> Iterator[list[Record]]:
    """``n`` records of ~1,000-character questions, made a batch at a time."""
    rng = random.Random(7)
    for start in range(0, n, batch):
        yield [
            record(start + i + 1, " ".join(rng.choices(WORDS, k=150)), LABELS[i % 3])
            for i in range(min(batch, n - start))
        ]


def peak_bytes(n: int) -> int:
    """tracemalloc peak while the duplicates analyzer watches ``n`` records stream past."""
    analyzer = DuplicatesAnalyzer()
    tracemalloc.start()
    try:
        for records in synthetic(n):
            analyzer.observe(records)
        analyzer.finish()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_state_per_record_stays_compact() -> None:
    # The texts alone are ~1 KB a record (50 MB in all); the analyzer keeps ~250 bytes of
    # hashes and fingerprints per record, ~300 at the peak while a split's batches are joined
    # and sorted, on top of a fixed ~11 MB for the batch in flight.
    small, large = peak_bytes(5_000), peak_bytes(50_000)
    per_record = (large - small) / 45_000
    assert per_record < 600, f"{per_record:.0f} bytes per record"
    assert large < 32 * 2**20, f"peak {large / 2**20:.1f} MB for 50,000 records"


# --- the content corpus, through the reader --------------------------------------------------


def corpus_cases() -> list[Path]:
    return sorted(p.parent for p in CORPUS.glob("*/case.json"))


def test_the_corpus_covers_every_error_check() -> None:
    checks = {json.loads((c / "case.json").read_text())["check"] for c in corpus_cases()}
    assert len(corpus_cases()) >= 8
    assert checks >= {"duplicate", "contradiction", "leakage", "size", "output_format"}
    assert checks >= {"unknown_label", "over_context"}


@pytest.mark.parametrize("case", corpus_cases(), ids=lambda p: p.name)
def test_corpus_case_has_exactly_its_one_finding(case: Path) -> None:
    spec = json.loads((case / "case.json").read_text())
    tokens = None
    if spec.get("context_window"):
        tokens = Tokens("words", words, context_window=spec["context_window"])
    context = Context(
        output=OutputSpec(**spec["output"]),
        tokens=tokens,
        documents=read_documents(case / "docs"),
    )
    files = {s: case / f"{s}.jsonl" for s in ("train", "val", "test")}
    report = validate_files(case.name, files, context)
    (finding,) = report.findings
    assert (finding.check, finding.split, finding.line) == (
        spec["check"],
        spec["split"],
        spec["line"],
    )
    assert finding.severity == spec["severity"]
    assert spec["message_contains"] in finding.message
    assert finding.file == str(files[spec["split"]])
    assert report.exit_code == (2 if spec["severity"] == "error" else 1)


def test_an_id_two_splits_share_is_an_error_as_the_study_refuses_it() -> None:
    def with_id(r: Record, id_: str | None) -> Record:
        return Record(r.split, r.file, r.line, r.messages, id_)

    train = [with_id(r, f"t-{i}") for i, r in enumerate(clean("train", 20))]
    test = [with_id(r, f"x-{i}") for i, r in enumerate(clean("test", 20))]
    test[3] = with_id(test[3], "t-7")
    extra = [with_id(r, "t-1") for r in clean("notes", 2)]  # a file the study never loads
    findings, _ = analyze({"train": train, "test": test, "notes": extra})
    [shared] = only(findings, "duplicate_id")
    assert (shared.severity, shared.split, shared.line) == ("error", "test", 4)
    assert "'t-7' is also in train (train.jsonl:8)" in shared.message
    # records without an id get the study's own fallback, split and line: never shared
    assert not only(analyze({"train": clean("train"), "test": clean("test")})[0], "duplicate_id")


def test_a_long_task_shows_its_validation_progress_and_a_short_one_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = Context(output=OutputSpec(kind="label", labels=["yes", "no"]))

    def split_file(name: str, count: int) -> Path:
        path = tmp_path / f"{name}.jsonl"
        rows = [
            {"id": f"{name}-{i}", "messages": [
                {"role": "user", "content": f"is {i} even? ({name})"},
                {"role": "assistant", "content": "yes" if i % 2 == 0 else "no"},
            ]}
            for i in range(count)
        ]  # fmt: skip
        path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n")  # one blank line
        return path

    short = validate_files("short", {"train": split_file("train", 30)}, context)
    assert short.stats and capsys.readouterr().err == ""
    files = {"train": split_file("train", 2500), "test": split_file("test", 600)}
    validate_files("long", files, context)
    err = capsys.readouterr().err
    assert "validating long: records: 3102/3102" in err  # every line, the blank ones too
    assert err.index("3102/3102") < err.index("validating long: checking across splits")


def test_labels_that_are_codes_get_a_warning_naming_the_fix() -> None:
    coded = ("0", "1", "2")
    splits = {
        s: [record(r.line, r.messages[1].content, str(i % 3), s) for i, r in enumerate(clean(s))]
        for s in ("train", "val", "test")
    }
    findings, _ = analyze(splits, Context(OutputSpec("label", labels=coded)))
    [finding] = [f for f in findings if f.check == "coded_labels"]
    assert finding.severity == "warning" and "(0, 1, 2) are codes" in finding.message
    assert "--label-map" in finding.fix
    assert [f.check for f in findings] == ["coded_labels"]  # nothing else is wrong
