"""Nothing lost: a command replaces only what a command of backtestr wrote
(docs/safety.md). Each case names the folder state, the command and what
must be left: refused folders keep every byte, failed commands leave nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtestr.cli import main
from backtestr.errors import OutputError
from backtestr.importer import CsvImportError, import_csv
from backtestr.outputs import MANIFEST, check_target, stage
from backtestr.synth import SynthError, write_archive
from tests.tickdata import hive_file, orders_frame

SYNTH = ["data", "synth", "--symbols", "EURUSD", "--days", "1", "--start", "2024-01-02", "--rate", "0.002",
         "--quiet"]


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _names(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def _err(argv: list[str], capsys, code: int = 2) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err
    return err


@pytest.fixture
def user_dir(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    return d


@pytest.fixture
def run_args(tmp_path):
    arch = tmp_path / "arch"
    hive_file(arch, "EURUSD", [1, 2, 3], [1.1, 1.1, 1.1], [1.10002, 1.10002, 1.10002])
    orders = tmp_path / "orders.parquet"
    orders_frame([(1, "EURUSD", "buy", 1)]).write_parquet(orders)
    return ["run", "--data", str(arch), "--orders", str(orders), "--quiet"]


# -- run -------------------------------------------------------------------------------------------

def test_run_force_refuses_a_folder_with_a_user_file(run_args, user_dir, tmp_path, capsys):
    err = _err([*run_args, "--out", str(user_dir), "--force"], capsys)
    assert str(user_dir) in err and "notes.txt" in err
    assert _tree(user_dir) == {"notes.txt": b"keep me"}
    assert _names(tmp_path) == ["arch", "mine", "orders.parquet"]  # no staging folder left


def test_run_force_refuses_an_earlier_run_with_an_added_file(run_args, tmp_path, capsys):
    out = tmp_path / "res"
    assert main([*run_args, "--out", str(out)]) == 0
    (out / "plot.png").write_bytes(b"user's")
    before = _tree(out)
    err = _err([*run_args, "--out", str(out), "--force"], capsys)
    assert "plot.png" in err and "summary.json" not in err  # only the file no run wrote is named
    assert _tree(out) == before


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_run_out_that_is_a_file_is_refused_and_kept(run_args, tmp_path, capsys, force):
    f = tmp_path / "result.txt"
    f.write_text("data")
    err = _err([*run_args, "--out", str(f), *force], capsys)
    assert str(f) in err and "is a file" in err and "--out" in err
    assert f.is_file() and f.read_text() == "data"


def test_run_into_an_existing_empty_folder(run_args, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert main([*run_args, "--out", str(out)]) == 0
    assert "summary.json" in _names(out)
    listed = json.loads((out / MANIFEST).read_text())["files"]
    assert sorted(listed) == sorted(n for n in _names(out) if n != MANIFEST)


def test_run_refuses_to_replace_a_tick_archive(run_args, tmp_path, capsys):
    arch = tmp_path / "synth"
    assert main([*SYNTH, "--out", str(arch)]) == 0
    before = _tree(arch)
    err = _err([*run_args, "--out", str(arch), "--force"], capsys)
    assert "tick archive" in err
    assert _tree(arch) == before


# -- demo ------------------------------------------------------------------------------------------

@pytest.fixture
def tiny_sample(tmp_path):
    data = tmp_path / "sample"
    assert main(["data", "synth", "--out", str(data), "--symbols", "EURUSD", "--days", "1", "--start",
                 "2024-01-02", "--rate", "0.02", "--quiet"]) == 0
    return data


def test_demo_refuses_a_folder_with_a_user_file_without_force(tiny_sample, user_dir, capsys):
    err = _err(["demo", "--data", str(tiny_sample), "--out", str(user_dir)], capsys)
    assert "notes.txt" in err
    assert _tree(user_dir) == {"notes.txt": b"keep me"}


def test_demo_twice_replaces_its_own_output(tiny_sample, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--data", str(tiny_sample), "--out", str(out)]) == 0
    first = json.loads((out / "summary.json").read_text())
    (out / "summary.json").write_text("{}")
    assert main(["demo", "--data", str(tiny_sample), "--out", str(out)]) == 0
    second = json.loads((out / "summary.json").read_text())
    assert second["ticks"] == first["ticks"] > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".demo")]


def test_demo_days_0_is_refused_naming_the_flag_and_writes_nothing(tmp_path, capsys):
    err = _err(["demo", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--days", "0"], capsys)
    assert "--days" in err
    assert _names(tmp_path) == []


# -- data synth ------------------------------------------------------------------------------------

def test_synth_refuses_a_user_folder_even_with_force(user_dir, capsys):
    err = _err([*SYNTH, "--out", str(user_dir), "--force"], capsys)
    assert "notes.txt" in err
    assert _tree(user_dir) == {"notes.txt": b"keep me"}


def test_synth_replaces_an_earlier_archive_only_with_force(tmp_path, capsys):
    out = tmp_path / "a"
    assert main([*SYNTH, "--out", str(out)]) == 0
    before = _tree(out)
    assert "--force" in _err([*SYNTH, "--out", str(out), "--seed", "9"], capsys)
    assert _tree(out) == before
    assert main([*SYNTH, "--out", str(out), "--seed", "9", "--force"]) == 0
    after = _tree(out)
    assert after.keys() == before.keys() and after != before  # another seed, the same files
    assert _names(tmp_path) == ["a"]


def test_synth_out_that_is_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "x.parquet"
    f.write_bytes(b"PAR1")
    assert "is a file" in _err([*SYNTH, "--out", str(f), "--force"], capsys)
    assert f.read_bytes() == b"PAR1"


def test_synth_python_api_names_the_argument(tmp_path):
    write_archive(tmp_path / "a", ["EURUSD"], 1, seed=1, start=__import__("datetime").date(2024, 1, 2),
                  rate=0.002)
    with pytest.raises(OutputError, match=r"force=True") as ei:
        write_archive(tmp_path / "a", ["EURUSD"], 1, seed=1, rate=0.002)
    assert "--force" not in str(ei.value)
    with pytest.raises(SynthError, match=r"^days must be at least 1"):
        write_archive(tmp_path / "b", ["EURUSD"], 0, seed=1)


# -- data import -----------------------------------------------------------------------------------

CSV = "ts,bid,ask\n2024-01-03T00:00:00Z,1.1,1.10002\n"


def test_failed_import_leaves_nothing(tmp_path, capsys):
    src = tmp_path / "q.csv"
    src.write_text("ts,bid,ask\n2024-01-03T00:00:00Z,1.1,1.10002\n2024-01-03T00:00:01Z,oops,1.1\n")
    out = tmp_path / "new" / "archive"
    err = _err(["data", "import", str(src), "--out", str(out), "--symbol", "EURUSD"], capsys)
    assert "row 2" in err and "'oops'" in err
    assert _names(tmp_path) == ["q.csv"]  # not even the parent folder


def test_import_refuses_a_user_folder(tmp_path, user_dir, capsys):
    src = tmp_path / "q.csv"
    src.write_text(CSV)
    err = _err(["data", "import", str(src), "--out", str(user_dir), "--symbol", "EURUSD", "--force"], capsys)
    assert "notes.txt" in err
    assert _tree(user_dir) == {"notes.txt": b"keep me"}


def test_import_adds_to_a_synth_archive_and_lists_the_new_files(tmp_path, capsys):
    out = tmp_path / "a"
    assert main([*SYNTH, "--out", str(out)]) == 0  # 2024-01-02
    before = _tree(out)
    src = tmp_path / "q.csv"
    src.write_text(CSV)  # 2024-01-03
    assert main(["data", "import", str(src), "--out", str(out), "--symbol", "EURUSD"]) == 0
    added = "symbol=EURUSD/date=2024-01-03/part-0.parquet"
    after = _tree(out)
    assert {k: v for k, v in after.items() if k != MANIFEST and k != added} == \
        {k: v for k, v in before.items() if k != MANIFEST}
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["kind"] == "archive"
    assert manifest["files"] == ["symbol=EURUSD/date=2024-01-02/part-0.parquet", added]
    # the same partition again: refused by name unless --force
    capsys.readouterr()
    err = _err(["data", "import", str(src), "--out", str(out), "--symbol", "EURUSD"], capsys)
    assert "already exist" in err and "--force" in err and "overwrite" not in err
    assert main(["data", "import", str(src), "--out", str(out), "--symbol", "EURUSD", "--force"]) == 0
    assert json.loads((out / MANIFEST).read_text())["files"] == manifest["files"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_import_python_api_names_overwrite(tmp_path):
    src = tmp_path / "q.csv"
    src.write_text(CSV)
    import_csv(src, tmp_path / "a", "EURUSD")
    with pytest.raises(CsvImportError, match=r"overwrite=True"):
        import_csv(src, tmp_path / "a", "EURUSD")


# -- the mechanism ---------------------------------------------------------------------------------

def test_stage_discards_on_error_and_commits_whole(tmp_path):
    out = tmp_path / "o"
    with pytest.raises(RuntimeError), stage(out, "run", "test") as s:
        (s.path / "a.txt").write_text("half")
        raise RuntimeError("boom")
    assert _names(tmp_path) == []
    with stage(out, "run", "test") as s:
        (s.path / "a.txt").write_text("whole")
    assert _tree(out) == {MANIFEST: (out / MANIFEST).read_bytes(), "a.txt": b"whole"}
    assert json.loads((out / MANIFEST).read_text())["files"] == ["a.txt"]
    with pytest.raises(OutputError, match="force=True"):
        check_target(out, "run", "test")
    assert check_target(out, "run", "test", replace=True) is not None
    with pytest.raises(OutputError, match="not the outputs of a run|a tick archive"):
        check_target(out, "archive", "test", replace=True)


def test_a_manifest_that_is_not_json_counts_as_foreign(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / MANIFEST).write_text("not json")
    with pytest.raises(OutputError, match="did not write"):
        check_target(out, "run", "test", replace=True)


def test_a_file_appearing_during_the_command_is_kept_and_nothing_staged_is_left(tmp_path):
    out = tmp_path / "o"
    with stage(out, "run", "test") as s:
        (s.path / "a.txt").write_text("ours")
    with pytest.raises(OutputError, match="late.txt"), stage(out, "run", "test", replace=True) as s:
        (s.path / "a.txt").write_text("new")
        (out / "late.txt").write_text("user's")  # written by someone else while the command runs
    assert _names(tmp_path) == ["o"]
    assert (out / "late.txt").read_text() == "user's" and (out / "a.txt").read_text() == "ours"
