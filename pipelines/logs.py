"""Logging: short lines on the terminal, everything (with tracebacks) in the log file."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LOG_FILE = "loyalty.log"


class _WithoutTraceback(logging.Formatter):
    """Terminal lines stay one line: the traceback is in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


def configure(log_dir: Path, verbose: bool) -> Path:
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    to_file.setLevel(logging.DEBUG)
    to_terminal = logging.StreamHandler(sys.stderr)
    to_terminal.setFormatter(_WithoutTraceback("%(levelname).1s %(message)s"))
    to_terminal.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(to_file)
    root.addHandler(to_terminal)
    for noisy in ("great_expectations", "py4j", "urllib3", "faker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return path
