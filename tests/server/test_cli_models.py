"""``imagegen-mcp models``, run in-process: no key, no network, one line per model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagegen_mcp.catalog import catalog
from imagegen_mcp.server.cli import main

SPECS = catalog().models


@pytest.fixture(autouse=True)
def _no_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EVOLINK_API_KEY", raising=False)
    monkeypatch.setenv("IMAGEGEN_HOME", str(tmp_path / "home"))


def test_models_prints_a_header_and_one_aligned_line_per_model(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    main(["models"])
    out, err = capsys.readouterr()
    header, *lines = out.splitlines()
    assert header.split() == [
        "model", "modes", "sizes", "tiers", "qualities", "n", "refs", "mask", "credits"
    ]  # fmt: skip
    assert [line.split()[0] for line in lines] == list(SPECS)
    for column in ("modes", "n", "credits"):  # every line's cell starts under its heading
        start = header.index(f"  {column}") + 2
        assert all(line[start - 1] == " " and line[start] != " " for line in lines), column
    assert "yes" in next(line for line in lines if line.startswith("gpt-image-2 "))
    assert err == ""
    assert not (tmp_path / "home").exists()  # nothing opened, nothing written


def test_models_json_with_a_capability_gives_the_matching_entries(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["models", "--capability", "mask", "--json"])
    entries = json.loads(capsys.readouterr().out)["models"]
    assert [e["id"] for e in entries] == [i for i, s in SPECS.items() if s.mask is not None]
    assert all(e["mask"] is True for e in entries)


def test_models_with_an_unknown_capability_is_one_line_and_code_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["models", "--capability", "pastel"])
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "'pastel'" in err and "seedream" in err
