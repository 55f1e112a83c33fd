"""data — what the user brings: datasets, their readers and samples of them.

Readers for CSV / TSV / JSONL / Parquet tables with line-numbered errors, the dataset types
(:class:`RetrievalDataset`: corpus, queries, graded qrels per split; :class:`LabeledDataset`: texts with
labels), the retrieval and labelled loaders (BEIR folders and zips, separate files), import into the
workspace and lookup by name or path, and seeded samples (N per class, stratified subsets). Imports runtime
only.
"""

from core.data.readers import Record, TABLE_SUFFIXES, Table, read_table, read_text
from core.data.datasets import (
    DataSource,
    Dataset,
    LabeledDataset,
    RetrievalDataset,
    TableInfo,
    cleanup_stale_files,
    dataset_summary,
    detect_kind,
    import_dataset,
    inspect_table,
    load_classification,
    load_dataset,
    load_path,
    load_retrieval_beir,
    load_retrieval_files,
    resolve_dataset,
    save_dataset,
    scan_data_dir,
    split_of_file,
    staged_files,
)
from core.data.sampling import FewShotSample, sample_per_class, stratified_subset

__all__ = [
    "DataSource",
    "Dataset",
    "FewShotSample",
    "LabeledDataset",
    "Record",
    "RetrievalDataset",
    "TABLE_SUFFIXES",
    "Table",
    "TableInfo",
    "cleanup_stale_files",
    "dataset_summary",
    "detect_kind",
    "import_dataset",
    "inspect_table",
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
]
