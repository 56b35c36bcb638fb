from __future__ import annotations

import stat
from pathlib import Path

import polars as pl
import pytest

from pipelines import pii
from pipelines.config import Settings
from pipelines.errors import LoyaltyError
from pipelines.sources import Pii


def test_demo_key_file_is_private_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "pii.key"
    assert pii.create_key_file(path)
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not pii.create_key_file(path)
    assert path.read_text() == first
    assert len(pii.load_key(Settings(data_dir=tmp_path))) == pii.KEY_BYTES


def test_a_readable_key_file_or_no_key_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(LoyaltyError, match="no PII key"):
        pii.load_key(settings)
    settings.paths.pii_key_file.parent.mkdir(parents=True)
    settings.paths.pii_key_file.write_text("ab" * 32)
    settings.paths.pii_key_file.chmod(0o644)
    with pytest.raises(LoyaltyError, match="readable by others"):
        pii.load_key(settings)


def test_keyed_hash_is_hmac_sha256() -> None:
    # RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
    digest = pii.keyed_hash(pl.Series(["what do ya want for nothing?", None]), b"Jefe")
    assert digest.to_list() == [
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        None,
    ]


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (Pii.EMAIL, "  Ann.Lee@Example.COM ", "ann.lee@example.com"),
        (Pii.PHONE, "+40 (721) 000-111", "40721000111"),
        (Pii.NAME, " Ana   Maria  POPESCU", "ana maria popescu"),
        (Pii.EMAIL, "   ", None),
    ],
)
def test_values_are_normalised_before_hashing(kind: Pii, value: str, expected: str | None) -> None:
    assert pl.DataFrame({"v": [value]}).select(pii.normalised("v", kind)).item() == expected
