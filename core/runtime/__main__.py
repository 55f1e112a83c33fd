"""``python -m core.runtime worker ...``: the job worker's entry point (see :mod:`core.runtime.worker`)."""

from core.runtime.worker import main

if __name__ == "__main__":
    raise SystemExit(main())
