"""``python -m core datasets import|list|show|delete|rename|scan``."""

from __future__ import annotations

import argparse
import sys

from core.cli import print_json
from core.data import import_path, scan_data_dir
from core.runtime import StoreError, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="import, list and inspect datasets")
    s = p.add_subparsers(dest="action", required=True)

    imp = s.add_parser("import", help="import a BEIR folder/zip or a classification table")
    imp.add_argument("path", help="BEIR folder or zip, classification file or folder of split files")
    imp.add_argument("--name", help="name in the workspace (default: folder or file name)")
    imp.add_argument("--kind", choices=["retrieval", "classification"], help="default: detected")
    imp.add_argument("--text-col", help="classification: column holding the text")
    imp.add_argument("--label-col", help="classification: column holding the label(s)")
    imp.add_argument("--test-size", type=float, default=0.2, help="classification without splits: test share")
    imp.add_argument("--seed", type=int, default=42, help="seed of the stratified split")
    imp.add_argument("--split-col", help="classification: column holding train/test/validation")
    imp.add_argument(
        "--make-split", action="store_true", help="classification: ignore given splits, make a new one"
    )
    imp.add_argument(
        "--custom-splits",
        action="store_true",
        help="accept split names other than train / validation (dev, val) / test (refused as typos otherwise)",
    )
    imp.set_defaults(handler=_import)

    lst = s.add_parser("list", help="datasets in the workspace (JSON list)")
    lst.set_defaults(handler=_list)

    show = s.add_parser("show", help="one dataset's summary (JSON)")
    show.add_argument("name")
    show.set_defaults(handler=_show)

    ren = s.add_parser("rename", help="rename a dataset")
    ren.add_argument("name")
    ren.add_argument("new_name")
    ren.set_defaults(handler=_rename)

    rm = s.add_parser("delete", help="delete a dataset and its files")
    rm.add_argument("name")
    rm.set_defaults(handler=_delete)

    scan = s.add_parser("scan", help="datasets found in the data folder (ESL_DATA_DIR)")
    scan.set_defaults(handler=_scan)


def _import(args: argparse.Namespace) -> int:
    ws = open_workspace()
    options = {
        "kind": args.kind,
        "test_size": args.test_size,
        "seed": args.seed,
        "text_col": args.text_col,
        "label_col": args.label_col,
        "split_col": args.split_col,
        "make_split": args.make_split,
        "custom_splits": args.custom_splits,
    }
    record, warnings = import_path(ws, args.path, name=args.name, **options)
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print_json(record.summary)
    return 0


def _list(args: argparse.Namespace) -> int:
    print_json([r.summary | {"name": r.name} for r in open_workspace().list_datasets()])
    return 0


def _show(args: argparse.Namespace) -> int:
    record = open_workspace().get_dataset(args.name)
    if record is None:
        raise StoreError(f"No dataset named {args.name!r}.")
    print_json(record.summary | {"name": record.name})
    return 0


def _rename(args: argparse.Namespace) -> int:
    open_workspace().rename_dataset(args.name, args.new_name)
    return 0


def _delete(args: argparse.Namespace) -> int:
    open_workspace().delete_dataset(args.name)
    return 0


def _scan(args: argparse.Namespace) -> int:
    print_json(
        [
            {"name": s.name, "kind": s.kind, "path": str(s.path), "description": s.description}
            for s in scan_data_dir()
        ]
    )
    return 0
