"""Pseudonymisation of personal data with a keyed hash (HMAC-SHA256).

The same person hashes to the same key across exports and sources (a survey respondent's
e-mail matches the customer's), and without the key the hash cannot be reversed or
recomputed from a guessed address. The key comes from the settings (`LOYALTY_PII_KEY`, or in
the DAG an Airflow connection) or a key file that only its owner can read; it is never in
the repository.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

import polars as pl

from pipelines.config import Settings
from pipelines.errors import LoyaltyError
from pipelines.sources import Pii

KEY_BYTES = 32


def create_key_file(path: Path) -> bool:
    """Write a fresh random key readable only by its owner; False if one exists already."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(KEY_BYTES) + "\n")
    return True


def load_key(settings: Settings) -> bytes:
    if settings.pii_key is not None:
        return _decode(settings.pii_key.get_secret_value(), "LOYALTY_PII_KEY")
    path = settings.paths.pii_key_file
    if not path.exists():
        raise LoyaltyError(
            f"no PII key: set LOYALTY_PII_KEY (64 hex characters; in Airflow, or the password "
            f"of the connection loyalty_pii_key) or run `loyalty keygen` to create {path}"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LoyaltyError(f"PII key file {path} is readable by others: chmod 600 it")
    return _decode(path.read_text().strip(), str(path))


def _decode(text: str, origin: str) -> bytes:
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise LoyaltyError(f"PII key from {origin} is not hexadecimal") from None
    if len(key) < 16:
        raise LoyaltyError(f"PII key from {origin} is shorter than 16 bytes")
    return key


def normalised(column: str, kind: Pii) -> pl.Expr:
    """The canonical form of a value before hashing: case, spacing and punctuation ignored."""
    value = pl.col(column).str.strip_chars()
    match kind:
        case Pii.EMAIL:
            value = value.str.to_lowercase()
        case Pii.PHONE:
            value = value.str.replace_all(r"[^0-9]", "")
        case Pii.NAME:
            value = value.str.to_lowercase().str.replace_all(r"\s+", " ")
    return pl.when(value == "").then(None).otherwise(value).alias(column)


def keyed_hash(values: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA256 (hex) of each non-null value.

    Polars has no keyed hash, and the standard library's HMAC does about a million
    values a second here, which is as fast as a SQL formulation in DuckDB.
    """
    digests = [
        None if value is None else hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
        for value in values.to_list()
    ]
    return pl.Series(values.name, digests, dtype=pl.String)
