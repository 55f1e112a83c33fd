"""The runnable script of the strategy bundle: two templates (a retrieval pipeline, a classifier) that
rebuild the chosen strategy with ``core``, and :func:`render_script`, which fills the right one from a card.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from core.runtime import REPO_ROOT

__all__ = ["SCRIPT_FILE", "render_script"]

SCRIPT_FILE = "rebuild_pipeline.py"

_SCRIPT = '''#!/usr/bin/env python
"""Rebuild the retrieval pipeline chosen by the Embedding Strategy Lab wizard, on your data, with `core`.

Strategy: {strategy}
Created:  {created} for dataset {dataset!r}

    python {script} [--dataset NAME_OR_PATH] [--query TEXT ...] [--k 10] [--evaluate] [--reranker NAME]

--dataset takes a workspace dataset name or a dataset folder / file (BEIR folder, ...); ESL_HOME chooses the
workspace. Prints JSON: the pipeline, the top-k of each query and, with --evaluate, nDCG@10 on the test split.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.environ.get("ESL_REPO", {repo!r}))

PIPELINE = {pipeline}


def first_stage_spec(pipeline):
    """The verified first-stage spec when the card has one, else the default spec of that kind."""
    from core.retrieval import BM25Spec, DenseSpec, HybridSpec, spec_from_dict

    if pipeline.get("first_stage_spec"):
        return spec_from_dict(pipeline["first_stage_spec"])
    dense = DenseSpec(model=pipeline["model"], index=pipeline.get("index") or "exact")
    return {{"bm25": BM25Spec(), "dense": dense, "hybrid": HybridSpec(dense=dense)}}[pipeline["first_stage"]]


def build(ds, ws, pipeline):
    """Index the corpus and return the retriever: first stage, optional PCA, optional rerank."""
    from core.retrieval import (
        Corpus, HybridRetriever, PCADenseRetriever, RerankRetriever, RerankSpec, RetrieverBuilder,
    )

    corpus = Corpus.from_dataset(ds)
    builder = RetrieverBuilder(corpus, ws)
    spec = first_stage_spec(pipeline)
    if pipeline.get("dimension") and spec.kind in ("dense", "hybrid"):
        dense_spec = spec if spec.kind == "dense" else spec.dense
        dense = PCADenseRetriever(builder.build(dense_spec), int(pipeline["dimension"]))  # PCA on corpus vectors
        retriever = dense if spec.kind == "dense" else HybridRetriever(builder.build(spec.sparse), dense, spec)
    else:
        retriever = builder.build(spec)
    if pipeline.get("reranker"):
        rerank = RerankSpec(first_stage=spec, reranker=pipeline["reranker"], top_k=int(pipeline["rerank_top_k"] or 50))
        retriever = RerankRetriever(retriever, builder.reranker(rerank), corpus, rerank)
    return retriever


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--dataset", default={dataset!r})
    parser.add_argument("--query", action="append", default=[])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--evaluate", action="store_true")
    parser.add_argument("--reranker", default=None, help="a pretrained cross-encoder (folder, registered name)")
    args = parser.parse_args(argv)

    from core.data import resolve_dataset
    from core.evaluate import evaluate_run
    from core.retrieval import results_to_run
    from core.runtime import open_workspace

    pipeline = dict(PIPELINE)
    if args.reranker:
        pipeline["reranker"] = args.reranker
        pipeline["rerank_top_k"] = pipeline.get("rerank_top_k") or 50
    elif pipeline.get("rerank_top_k") and not pipeline.get("reranker"):
        print("note: the strategy reranks with a cross-encoder, but none was given: pass --reranker "
              "(a pretrained one; see the card's warning). Running the first stage alone.", file=sys.stderr)
    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset)
    retriever = build(ds, ws, pipeline)
    texts = dict(zip(ds.doc_ids, ds.doc_texts()))
    out = {{"pipeline": pipeline, "retriever": retriever.name, "documents": len(ds.corpus), "results": []}}
    for query, hits in zip(args.query, retriever.search(args.query, args.k)):
        out["results"].append({{
            "query": query,
            "hits": [{{"doc_id": d, "score": round(s, 4), "text": texts[d][:120]}}
                     for d, s in zip(hits.doc_ids, hits.scores)],
        }})
    if args.evaluate:
        split = ds.default_split
        queries = ds.split_queries(split)
        run = results_to_run(queries["query_id"].tolist(), retriever.search(queries["text"].tolist(), 100))
        means, _ = evaluate_run(ds.qrels_dict(split), run, {{"ndcg@10": "ndcg@10", "recall@100": "recall@100"}})
        out["evaluation"] = {{"split": split, "queries": len(queries), **{{k: round(v, 4) for k, v in means.items()}}}}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''

_CLS_SCRIPT = '''#!/usr/bin/env python
"""Rebuild the classifier chosen by the Embedding Strategy Lab wizard, on your data, with `core`.

Strategy: {strategy}
Created:  {created} for dataset {dataset!r}

    python {script} [--dataset NAME_OR_PATH] [--n-per-class N] [--seeds 1]

Trains {method} on N labelled examples per class of the train split (and the frozen-embedding baseline on the
same sample) and prints JSON scores on the test split.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.environ.get("ESL_REPO", {repo!r}))

PIPELINE = {pipeline}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--dataset", default={dataset!r})
    parser.add_argument("--n-per-class", type=int, default={n})
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)

    from core.classify import ClassifyConfig, run_classification
    from core.data import resolve_dataset
    from core.runtime import open_workspace

    ws = open_workspace()
    ds = resolve_dataset(ws, args.dataset)
    config = ClassifyConfig(
        dataset=ds.name, body=PIPELINE["model"], methods={methods!r}, n_values=(args.n_per_class,),
        seeds=tuple(range(args.seeds)),
    )
    result = run_classification(config, ds, ws=ws)
    print(json.dumps({{"pipeline": PIPELINE, "summary": result.summary()}}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
'''


def render_script(card: Mapping[str, Any]) -> str:
    """The rebuild script for the card's pipeline."""
    rec = card["recommendation"]
    fields = {
        "strategy": rec["strategy"],
        "created": card["created"],
        "dataset": card["dataset"],
        "script": SCRIPT_FILE,
        "repo": str(REPO_ROOT),
        "pipeline": json.dumps(card["pipeline"], indent=4)
        .replace("null", "None")
        .replace("true", "True")
        .replace("false", "False"),
    }
    if card["pipeline"].get("task") == "classification":
        method = {"setfit": "setfit", "zero-shot": "zeroshot"}.get(rec.get("classifier") or "", "logreg")
        methods = tuple(dict.fromkeys([method, "logreg"]))
        lpc = int((rec.get("answers") or {}).get("labels_per_class") or 8)
        return _CLS_SCRIPT.format(**fields, method=method, methods=methods, n=max(2, min(lpc, 64)))
    return _SCRIPT.format(**fields)
