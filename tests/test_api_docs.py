"""docs/api.md: every function of the public analysis API has a worked example there, and
every block of the page runs, in order, on the real data."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib
import pytest

from trygghetskarta import analysis

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
API_MD = REPO / "docs" / "api.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[str]:
    return BLOCK.findall(API_MD.read_text(encoding="utf-8"))


def test_the_readme_links_the_api_page() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "(docs/api.md)" in readme


@pytest.mark.parametrize("name", sorted(analysis.__all__))
def test_every_public_name_has_a_worked_example(name: str) -> None:
    import inspect

    text = API_MD.read_text(encoding="utf-8")
    assert f"`{name}`" in text, f"docs/api.md does not list {name}"
    if inspect.isfunction(getattr(analysis, name)):
        code = "\n".join(_blocks())
        assert re.search(rf"analysis\.{re.escape(name)}\(", code), (
            f"no example in docs/api.md calls analysis.{name}"
        )


@pytest.mark.realdata
def test_every_block_runs_on_the_real_data(real_run, monkeypatch, tmp_path) -> None:
    import matplotlib.pyplot as plt

    settings, _ = real_run
    monkeypatch.setenv("TRYGGHETSKARTA_DATA", str(settings.data_dir))
    monkeypatch.setenv("TRYGGHETSKARTA_PROCESSED", str(settings.processed_dir))
    monkeypatch.chdir(REPO)
    namespace: dict[str, object] = {}
    blocks = _blocks()
    assert len(blocks) >= 15
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, code in enumerate(blocks):
            exec(compile(code, f"docs/api.md block {i + 1}", "exec"), namespace)
            plt.close("all")
    assert namespace["period"].label  # the blocks shared one session
    assert namespace["gi"].to_frame().index.name == "name"  # indexed by stadsdel
