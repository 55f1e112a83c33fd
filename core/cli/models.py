"""``python -m core models list|show|distill``."""

from __future__ import annotations

import argparse

from core.cli import print_json
from core.encoding import distill_static
from core.models import list_models, model_fingerprint, resolve_model
from core.runtime import detect_device, is_offline, open_workspace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="models available here (packaged, trained, local)")
    s = p.add_subparsers(dest="action", required=True)
    lst = s.add_parser("list", help="available models (JSON list)")
    lst.add_argument("--kind", help="bi-encoder, cross-encoder, setfit, mlm, static")
    lst.set_defaults(handler=_list)
    show = s.add_parser("show", help="resolve a model name, folder or hub id (JSON)")
    show.add_argument("name")
    show.set_defaults(handler=_show)
    dis = s.add_parser(
        "distill", help="distil a static (model2vec) model from a bi-encoder, offline, and register it"
    )
    dis.add_argument("--from", dest="source", required=True, help="registered or packaged model, or a folder")
    dis.add_argument("--name", required=True, help="name to register the static model under")
    dis.add_argument(
        "--pca-dims",
        type=int,
        default=256,
        help="PCA of the token vectors (0: keep the teacher's dimensions)",
    )
    dis.set_defaults(handler=_distill)


def _list(args: argparse.Namespace) -> int:
    print_json([m.__dict__ for m in list_models(open_workspace(), args.kind)])
    return 0


def _show(args: argparse.Namespace) -> int:
    info = resolve_model(args.name, open_workspace())
    print_json(
        info.__dict__
        | {"fingerprint": model_fingerprint(info), "device": detect_device(), "offline": is_offline()}
    )
    return 0


def _distill(args: argparse.Namespace) -> int:
    info = distill_static(args.source, args.name, open_workspace(), pca_dims=args.pca_dims or None)
    print_json(info.__dict__)
    return 0
