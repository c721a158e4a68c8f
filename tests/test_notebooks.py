"""The notebooks in notebooks/ run from top to bottom on the small committed sample (data/fixture)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def execute(name: str) -> nbformat.NotebookNode:
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    return nb


def text(nb: nbformat.NotebookNode) -> str:
    """Everything the cells printed or displayed as text."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            out.append(o.get("text", ""))
            out.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_fixture_is_small_and_committed():
    files = list((ROOT / "data" / "fixture").rglob("*.parquet"))
    assert {p.parent.parent.name for p in files} == {"symbol=EURUSD", "symbol=BTCUSD"}
    assert sum(p.stat().st_size for p in files) < 1_000_000


@pytest.mark.parametrize("name", ["quickstart.ipynb", "execution-and-risk.ipynb", "sweeps.ipynb",
                                  "strategies.ipynb"])
def test_notebook_runs(name):
    nb = execute(name)  # a cell that raises fails here, naming it
    shown = text(nb)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Plotly.newPlot" in html or "application/vnd.plotly.v1+json" in str(nb), "no chart shown"
    if name == "quickstart.ipynb":
        assert "sharpe" in shown and "max_drawdown" in shown and "report.html" in shown
    elif name == "sweeps.ipynb":
        # 12 sets ranked; the heatmaps name their reducer; DSR and PBO are probabilities; 3 walk-forward windows
        assert "shape: (12, 9)" in shown and "(max over execution.slippage_ticks)" in str(nb)
        assert "(mean over execution.slippage_ticks)" in str(nb)
        dsr = float(shown.split("deflated Sharpe ratio of the best set: ")[1].split()[0])
        pbo = float(shown.split("PBO: ")[1].split()[0])
        assert 0 <= dsr <= 1 and 0 <= pbo <= 1
        assert "shape: (3, 7)" in shown and "Walk-forward: out-of-sample equity over 3 windows" in str(nb)
        assert "sweep.report.html" in shown
    elif name == "strategies.ipynb":  # the two styles' fills are asserted equal in the notebook itself
        assert "identical fills" in shown and "stop_loss" in shown and "'sharpe'" in shown
    else:
        assert "worst_case" in shown and "'stop_outs': 1" in shown and "stop_out" in shown
