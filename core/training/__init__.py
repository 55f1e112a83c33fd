"""Training methods. Each module exposes ``train(config, data, callbacks) -> saved model path`` with a
frozen config dataclass, built on the sentence-transformers / transformers / setfit trainers."""
