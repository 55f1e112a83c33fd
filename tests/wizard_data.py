"""A small synthetic retrieval dataset for the wizard's tests: 80 documents on 8 topics, 16 queries with
graded judgements in a test and a train split (enough for PCA to 64-d and for significance tests)."""

from __future__ import annotations

from pathlib import Path

from tests.tiny_data import write_beir

TOPICS = {
    "cats": "cats purr whiskers kitten feline meow",
    "dogs": "dogs bark puppy canine leash fetch",
    "birds": "birds migrate feathers nest wings flock",
    "fish": "fish gills fins aquarium swim reef",
    "proteins": "protein enzyme amino folding ribosome peptide",
    "rockets": "rocket thrust propellant orbit nozzle booster",
    "bread": "bread yeast dough flour oven crust",
    "chess": "chess knight bishop checkmate opening gambit",
}
FILLER = [
    "the",
    "a",
    "of",
    "and",
    "in",
    "with",
    "for",
    "on",
    "by",
    "at",
    "from",
    "this",
    "that",
    "is",
    "are",
    "was",
]


def corpus_rows(per_topic: int = 10) -> list[dict[str, str]]:
    rows = []
    for t, (topic, words) in enumerate(TOPICS.items()):
        vocab = words.split()
        for i in range(per_topic):
            picked = [vocab[(i + j) % len(vocab)] for j in range(4)]
            filler = [FILLER[(i * 3 + j + t) % len(FILLER)] for j in range(5)]
            text = " ".join(w for pair in zip(picked, filler, strict=False) for w in pair)
            rows.append({"_id": f"{topic}-{i}", "title": f"{topic} note {i}", "text": f"{text} {topic}."})
    return rows


def write_topics_beir(folder: Path, per_topic: int = 10) -> Path:
    queries, test, train = [], [], []
    for t, (topic, words) in enumerate(TOPICS.items()):
        vocab = words.split()
        for q in range(2):
            qid = f"q-{topic}-{q}"
            queries.append({"_id": qid, "text": f"{vocab[q]} {vocab[q + 2]} {topic}"})
            rows = [(qid, f"{topic}-{i}", 2 if i % 3 == q else 1) for i in range(0, per_topic, 2)]
            rows.append((qid, f"{list(TOPICS)[(t + 1) % len(TOPICS)]}-0", 0))
            (test if q == 0 else train).extend(rows)
    return write_beir(
        folder, corpus=corpus_rows(per_topic), queries=queries, qrels={"test": test, "train": train}
    )


# two rows of a PCA gotcha result (384-d and 128-d), shared by the bundle and the wizard-view tests
PCA_ROWS = [
    {
        "dim": 384,
        "ndcg@10": 0.645,
        "recall@10": 0.78,
        "index_mb": 7.96,
        "size_ratio": 1.0,
        "quality_ratio": 1.0,
        "explained_variance": 1.0,
    },
    {
        "dim": 128,
        "ndcg@10": 0.611,
        "recall@10": 0.76,
        "index_mb": 2.65,
        "size_ratio": 1 / 3,
        "quality_ratio": 0.947,
        "explained_variance": 0.84,
    },
]
