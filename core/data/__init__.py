"""data — what the user brings: datasets, their readers and samples of them.

Readers for CSV / TSV / JSONL / Parquet tables with line-numbered errors, the dataset types
(:class:`RetrievalDataset`: corpus, queries, graded qrels per split; :class:`LabeledDataset`: texts with
labels), the retrieval and labelled loaders (BEIR folders and zips, separate files), import into the
workspace and lookup by name or path, seeded samples (N per class, stratified subsets), and long documents cut
into passages by a model's tokens (:class:`ChunkSpec`, :func:`chunk_corpus`, :func:`length_stats`).
Readers stream (line by line, Parquet row group by row group) and a retrieval import writes its Parquet
files batch by batch (:func:`import_path`); every problem with a user file is one ``DataImportError``
naming the file and the line. Imports runtime only.
"""

from core.data.chunking import AGGREGATES, ChunkSpec, Passages, chunk_corpus, tokenizer_fingerprint
from core.data.datasets import Dataset, LabeledDataset, RetrievalDataset, dataset_summary
from core.data.fields import split_of_file
from core.data.labeled_loaders import TableInfo, inspect_table, load_classification
from core.data.lengths import LengthStats, length_stats
from core.data.readers import TABLE_SUFFIXES, Record, Table, read_table, read_text
from core.data.retrieval_loaders import load_retrieval_beir, load_retrieval_files
from core.data.sampling import FewShotSample, sample_per_class, stratified_subset
from core.data.sources import DataSource, default_name, detect_kind, load_path, scan_data_dir
from core.data.stored import (
    cleanup_stale_files,
    import_dataset,
    import_path,
    load_dataset,
    resolve_dataset,
    save_dataset,
    staged_files,
)

__all__ = [
    "AGGREGATES",
    "TABLE_SUFFIXES",
    "ChunkSpec",
    "DataSource",
    "Dataset",
    "FewShotSample",
    "LabeledDataset",
    "LengthStats",
    "Passages",
    "Record",
    "RetrievalDataset",
    "Table",
    "TableInfo",
    "chunk_corpus",
    "cleanup_stale_files",
    "dataset_summary",
    "default_name",
    "detect_kind",
    "import_dataset",
    "import_path",
    "inspect_table",
    "length_stats",
    "load_classification",
    "load_dataset",
    "load_path",
    "load_retrieval_beir",
    "load_retrieval_files",
    "read_table",
    "read_text",
    "resolve_dataset",
    "sample_per_class",
    "save_dataset",
    "scan_data_dir",
    "split_of_file",
    "staged_files",
    "stratified_subset",
    "tokenizer_fingerprint",
]
