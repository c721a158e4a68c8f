

def test_cli_unknown_symbol_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = [(r[0], "ZZZ", r[2], r[3]) for r in TICKS[:30] if r[1] == "EURUSD"]
    root = write_tick_archive(tmp_path / "ticks", t)
    assert main(["data", "bars", str(root), "--out", str(tmp_path / "bars")]) == 2
    err = capsys.readouterr().err
    assert "unknown symbol(s) ZZZ" in err and "--instruments FILE" in err
    assert not (tmp_path / "bars").exists()
    reg = tmp_path / "zzz.toml"
    reg.write_text('[ZZZ]\ntick_size = "0.00001"\nlot_step = "0.01"\n')
    assert main(["data", "bars", str(root), "--out", str(tmp_path / "bars"), "--instruments", str(reg),
                 "--timeframes", "1h", "--quiet"]) == 0
    got = read_bars(tmp_path / "bars")
    assert got["symbol"].unique().to_list() == ["ZZZ"] and got["n_ticks"].sum() == len(t)
