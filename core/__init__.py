"""Embedding Strategy Lab core library: datasets, models, retrieval, evaluation, training, projection.

Plain Python, no Streamlit. Import submodules directly (``from core.datasets import load_path``).
"""

from core.config import configure_environment

configure_environment()

__all__ = ["configure_environment"]
