"""Embedding Strategy Lab core library: plain Python, no Streamlit.

Domain packages in layers (each imports only the layers below it; see ../shared/ARCHITECTURE.md)::

    cli → wizard → adapt | classify | explore → evaluate | training → retrieval → encoding
        → data | models → runtime

Import from a package's face, e.g. ``from core.data import load_path``.
"""

from core.runtime import configure_environment
from core.runtime.compat import install_legacy_aliases

configure_environment()
install_legacy_aliases()

__all__ = ["configure_environment"]
