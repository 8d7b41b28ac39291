"""Bad input ends with one clear line and a non-zero exit: never a traceback, never
accepted wrongly (issue #21). Fast: nothing here solves."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from common.errors import InputError
from tests.unit.test_facility import HEAD, ROW_A, doc, one_error
from twin.cli import main
from twin.facility import (MAX_FILE_BYTES, MAX_NESTING, FacilityError, load_facility)
from twin.studies.sweep import TaskRunner, check_scheduler_address


def cli(*args):
    """Run ``twin ARGS``; return the result after the checks every bad input must pass."""
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code != 0, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    return res


def error_lines(res):
    return [ln for ln in res.output.splitlines() if ln.startswith("error")]


def bad_file(tmp_path, data: bytes, name="facility.toml"):
    f = tmp_path / name
    f.write_bytes(data)
    return f


def load_error(path) -> str:
    with pytest.raises(FacilityError) as exc:
        load_facility(path)
    assert isinstance(exc.value, InputError)
    errs = [str(d) for d in exc.value.errors]
    assert len(errs) == 1, errs
    return errs[0]


# ------------------------------------------------------------------ 1. not UTF-8
def test_latin1_byte_names_line_and_fix(tmp_path):
    f = bad_file(tmp_path, doc(ROW_A).replace('name = "Test"', 'name = "Caf\xe9"').encode("latin-1"))
    msg = load_error(f)
    assert "not UTF-8 text: byte 0xe9 at line 6, column 12" in msg and "re-save it as UTF-8" in msg
    res = cli("validate", f)
    assert "not UTF-8 text" in error_lines(res)[0]


def test_binary_include_is_refused(tmp_path):
    bad_file(tmp_path, bytes(range(256)) * 4, "blob.toml")
    text = doc(ROW_A).replace('include = ["builtin:racks"]', 'include = ["builtin:racks", "blob.toml"]')
    msg = load_error(bad_file(tmp_path, text.encode()))
    assert "blob.toml" in msg and "not UTF-8 text" in msg


# -------------------------------------------------------------- 2. size and depth
@pytest.mark.parametrize("body", [
    b"x = " + b"[" * 5000 + b"]" * 5000,
    b"x = " + b"{a = " * 5000 + b"1" + b"}" * 5000,
    b"x" + b".a" * 5000 + b" = 1",
    b"[" + b"a." * 3000 + b"a]\nb = 1",
    b"x = " + b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1),
])
def test_deep_nesting_is_refused_with_the_limit(tmp_path, body):
    f = bad_file(tmp_path, doc(ROW_A).encode() + b"\n" + body + b"\n")
    msg = load_error(f)
    assert f"nest deeper than {MAX_NESTING} levels" in msg
    res = cli("validate", f)
    assert f"deeper than {MAX_NESTING}" in error_lines(res)[0]


def test_huge_file_is_refused_before_reading(tmp_path):
    f = bad_file(tmp_path, doc(ROW_A).encode() + b"#" * (MAX_FILE_BYTES + 10) + b"\n")
    assert f"may be at most {MAX_FILE_BYTES // 2 ** 20} MiB" in load_error(f)


# ------------------------------------------------------------ 3. counts in range
@pytest.mark.parametrize("count", [100_000, 1_000_000_000, 501])
def test_row_count_is_limited(tmp_path, count):
    err = one_error(doc(ROW_A.replace("count = 4", f"count = {count}")), tmp_path)
    assert f"rows[A].count: count = {count}: it must be <= 500" in err
    assert "a row holds at most 500 racks" in err


def test_many_racks_checked(tmp_path):
    """A 400-rack row and a second row facing it: the geometry checks (a sweep, no
    pairwise arrays; their speed is not timed here) still find the racks outside the
    hall and the blocked intakes."""
    rows = ROW_A.replace("count = 4", "count = 400") + ROW_A.replace('"A"', '"B"').replace(
        "count = 4", "count = 400").replace("y_m = 2.0", "y_m = 3.5")
    with pytest.raises(FacilityError) as exc:
        load_facility(bad_file(tmp_path, doc(rows).encode()))
    text = str(exc.value)
    assert "outside the hall" in text and "blocked by rack" in text


def test_overlap_still_found(tmp_path):
    two = ROW_A + ROW_A.replace('"A"', '"B"').replace("x_m = 3.0", "x_m = 3.3")
    errs = [e for e in str(pytest.raises(FacilityError, load_facility,
                                         bad_file(tmp_path, doc(two).encode())).value).splitlines()
            if "overlaps" in e]
    assert errs and "rack H1/A/01 overlaps rack H1/A/02" not in errs[0]
    assert "H1/A/01 overlaps rack H1/B/01 by 0.30 m" in errs[0]


# --------------------------------------------------------------- 4. --scheduler
@pytest.mark.parametrize("addr, says", [
    ("garbage-address", "no port"),
    ("http://[::1", "not a valid address"),
    ("http://10.0.0.5:8786", "unknown scheme 'http://'"),
    ("tcp://:8786", "no host"),
    ("tcp://host:99999", "not a valid address"),
])
def test_scheduler_address_checked_before_connecting(addr, says):
    with pytest.raises(InputError, match="SCHEME://HOST:PORT|scheme|port"):
        check_scheduler_address(addr)
    with pytest.raises(InputError):
        TaskRunner(n_tasks=2, scheduler=addr)
    for cmd in (["whatif", "meshes/small-hall.toml", "--set", "utilization=0.5,1"],
                ["fail", "meshes/small-hall.toml", "--each"],
                ["capacity", "meshes/small-hall.toml", "--rack-type", "cpu-compute"]):
        res = cli(*cmd, "--scheduler", addr)
        lines = error_lines(res)
        assert len(lines) == 1 and lines[0].startswith(f"error: --scheduler '{addr}': ")
        assert says in lines[0] and "tcp://10.0.0.5:8786" in lines[0]


@pytest.mark.parametrize("addr", ["tcp://10.0.0.5:8786", "10.0.0.5:8786", "tls://[::1]:8786",
                                  "tcp://scheduler.local:8786"])
def test_good_scheduler_addresses_pass(addr):
    assert check_scheduler_address(addr) == addr


# -------------------------------------------------------------- 5, 8. plausible sizes and power
@pytest.mark.parametrize("old, new, says", [
    ("length_m = 10.0", "length_m = 10000.0", "halls[H1].length_m: length_m = 10000.0: it must be <= 500"),
    ("width_m = 8.0", "width_m = 8000.0", "halls[H1].width_m: width_m = 8000.0: it must be <= 500"),
    ("ceiling_height_m = 3.6", "ceiling_height_m = 360.0", "ceiling_height_m = 360.0: it must be <= 30"),
    ("raised_floor_height_m = 0.6", "raised_floor_height_m = 60.0", "it must be <= 3"),
])
def test_hall_sizes_in_range(tmp_path, old, new, says):
    err = one_error(doc(ROW_A).replace(old, new), tmp_path)
    assert says in err and "check the unit" in err


def test_rack_type_size_and_power_in_range(tmp_path):
    rt = """
[rack_types.giant]
nameplate_power_kw = 1e12
idle_power_kw = 1.0
design_delta_t_k = 12.0
width_m = 60.0
depth_m = 1.2
height_m = 2.0
"""
    text = doc(ROW_A.replace('"cpu-compute"', '"giant"')) + rt
    with pytest.raises(FacilityError) as exc:
        load_facility(bad_file(tmp_path, text.encode()))
    errs = [str(d) for d in exc.value.errors]
    assert any("rack_types[giant].nameplate_power_kw: nameplate_power_kw = 1000000000000.0: "
               "it must be <= 2000" in e and "2 MW" in e for e in errs), errs
    assert any("rack_types[giant].width_m: width_m = 60.0: it must be <= 3" in e for e in errs), errs


def test_rack_power_override_in_range(tmp_path):
    err = one_error(doc(ROW_A.replace('facing = "+y"', 'facing = "+y"\npower_kw = 1e12')), tmp_path)
    assert "rows[A].power_kw: power_kw = 1000000000000.0: it must be <= 2000" in err


# ------------------------------------------------------------------ 6. weather
def test_unknown_builtin_weather_fails_validate(tmp_path):
    err = one_error(doc(ROW_A).replace("builtin:ulsan", "builtin:busan"), tmp_path)
    assert "campus.weather: weather 'builtin:busan' is not a built-in climate" in err
    assert "'builtin:ulsan'" in err


def test_truncated_epw_fails_validate(tmp_path):
    (tmp_path / "site.epw").write_text("LOCATION,Ulsan,-,KOR,IWEC,471520,35.55,129.32,9.0,35.0\n")
    err = one_error(doc(ROW_A).replace("builtin:ulsan", "site.epw"), tmp_path)
    assert "campus.weather: weather file 'site.epw':" in err and "EPW has 8 header lines" in err
    res = cli("validate", tmp_path / "facility.toml")
    assert any("weather file 'site.epw'" in ln for ln in error_lines(res))


# ------------------------------------------------------------- 7. CLI option ranges
@pytest.mark.parametrize("args, says", [
    (["solve", "meshes/small-hall.toml", "--max-steps", "-5"], "--max-steps -5: the cap on pseudo-time steps must be a whole number from 1"),
    (["solve", "meshes/small-hall.toml", "--max-steps", "0"], "--max-steps 0:"),
    (["solve", "meshes/small-hall.toml", "--top", "0"], "--top 0:"),
    (["solve", "meshes/small-hall.toml", "--utilization", "2"], "--utilization 2: the IT utilisation must be a number from 0 to 1"),
    (["solve", "meshes/small-hall.toml", "--cell", "-0.1"], "--cell -0.1:"),
    (["run", "meshes/small-hall.toml", "--target-inlet", "-300"], "--target-inlet -300: the target rack inlet [degC]"),
    (["run", "meshes/small-hall.toml", "--hours", "-1"], "--hours -1:"),
    (["run", "meshes/small-hall.toml", "--hours", "nan"], "--hours nan:"),
    (["run", "meshes/small-hall.toml", "--flow-tol", "0"], "--flow-tol 0:"),
    (["validate", "meshes/small-hall.toml", "--cell", "0"], "--cell 0:"),
    (["mesh", "meshes/small-hall.toml", "--utilization", "-1"], "--utilization -1:"),
    (["fail", "meshes/small-hall.toml", "--each", "--minutes", "-5"], "--minutes -5:"),
    (["capacity", "meshes/small-hall.toml", "--rack-type", "x", "--max-add", "0"], "--max-add 0:"),
    (["whatif", "meshes/small-hall.toml", "--workers", "0"], "--workers 0:"),
])
def test_cli_numbers_in_range(args, says):
    res = cli(*args)
    lines = error_lines(res)
    assert len(lines) == 1 and lines[0].startswith("error: " + says), res.output
    assert res.exit_code == 2


# -------------------------------------------------------------- 9-11. clearer messages
def test_bom_is_accepted(tmp_path):
    fac = load_facility(bad_file(tmp_path, b"\xef\xbb\xbf" + doc(ROW_A).encode()))
    assert fac.hall_names == ["H1"]


def test_format_version_string_says_integer(tmp_path):
    err = one_error(doc(ROW_A).replace("format_version = 1", "format_version = '1'"), tmp_path)
    assert "format_version = '1' is not allowed; it must be the integer 1, without quotes" in err


def test_folder_as_include_says_folder(tmp_path):
    (tmp_path / "racks").mkdir()
    text = doc(ROW_A).replace('include = ["builtin:racks"]', 'include = ["builtin:racks", "racks"]')
    err = one_error(text, tmp_path)
    assert "include[1]: 'racks' is a folder" in err and "include a TOML file" in err


def test_folder_as_hall_file_says_folder(tmp_path):
    (tmp_path / "halls").mkdir()
    text = HEAD + '\n[[halls]]\nname = "H9"\nfile = "halls"\n'
    err = one_error(text, tmp_path)
    assert "halls[H9].file: 'halls' is a folder" in err


# ----------------------------------------------------------- valid input still loads
def test_valid_variants_still_load(tmp_path):
    text = doc(ROW_A).replace('name = "Test"', 'name = "울산 캠퍼스 Ülsan"')
    text = text.replace("length_m = 10.0", "length_m = 10").replace("count = 4", "count\t=\t4")
    text = text.replace("supply_temp_c = 18.0", "supply_temp_c = 18")
    fac = load_facility(bad_file(tmp_path, text.replace("\n", "\r\n").encode("utf-8")))
    assert fac.campus.name == "울산 캠퍼스 Ülsan"
    assert fac.hall("H1").length_m == 10.0 and len(fac.rack_list()) == 4
    res = CliRunner().invoke(main, ["validate", str(tmp_path / "facility.toml")])
    assert res.exit_code == 0, res.output


# ------------------------------------------------------------ utilisation traces (CSV)
@pytest.mark.parametrize("data, words", [
    (b"garbage\x00\xff\n", "not UTF-8 text (byte 0xff"),
    (b"time_h,utilization\n0,0.5\n1,abc\n", "bad.csv:3: 'abc' is not a number"),
    (b"", "empty utilization trace"),
])
def test_bad_utilization_trace_is_one_line_before_any_solve(tmp_path, data, words):
    from twin.facility import BUILTIN_DIR
    f = bad_file(tmp_path, data, "bad.csv")
    res = cli("run", BUILTIN_DIR / "small-hall.toml", "--profile", f, "--hours", "1",
              "--cell", "0.4", "--out", tmp_path / "out", "--quiet")
    errs = error_lines(res)
    assert len(errs) == 1 and words in errs[0], res.output
    assert not (tmp_path / "out" / "results.h5").exists()


# ------------------------------------------------ a --scheduler address that is no Dask
def _server(reply: bytes | None):
    """A TCP server on 127.0.0.1 that answers every connection with ``reply`` (``None``:
    accepts and says nothing); returns its port."""
    import socket
    import threading
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            if reply is not None:
                c.sendall(reply)
            held.append(c)
    threading.Thread(target=serve, daemon=True).start()
    return srv.getsockname()[1]


@pytest.mark.parametrize("reply, words", [
    (b"HTTP/1.1 200 OK\r\n\r\nhello", "an HTTP server answers there"),
    (b"\xff" * 64, "not a Dask scheduler"),
    (None, "sends nothing in"),
])
def test_scheduler_that_is_not_dask_is_one_line(monkeypatch, reply, words):
    from twin.facility import BUILTIN_DIR
    from twin.studies import sweep
    port = _server(reply)
    monkeypatch.setattr(sweep, "PROBE_TIMEOUT_S", 0.5)     # a short wait for the silent one
    res = cli("whatif", BUILTIN_DIR / "small-hall.toml", "--set", "utilization=0.5",
              "--scheduler", f"tcp://127.0.0.1:{port}", "--cell", "0.4")
    errs = error_lines(res)
    assert len(errs) == 1 and words in errs[0], res.output


def test_probe_accepts_a_real_scheduler():
    from twin.studies.sweep import local_cluster, probe_scheduler
    cluster = local_cluster([{"TWIN_CPU_THREADS": "1"}])
    try:
        probe_scheduler(cluster.scheduler_address)         # no error
    finally:
        cluster.close()


def test_without_dask_the_cases_run_in_process_with_one_note(monkeypatch, caplog):
    from twin.studies import sweep
    monkeypatch.setattr(sweep, "have_distributed", lambda: False)
    with caplog.at_level("WARNING", logger="twin"):
        runner = sweep.TaskRunner(n_tasks=4, workers=2)
    assert runner.inline and runner.n_workers == 1
    assert any("Dask is not installed" in r.getMessage() for r in caplog.records)
    with runner:
        assert runner.map(pow, [(2, 3), (3, 2)]) == [8, 9]
    with pytest.raises(sweep.SweepError, match="Dask is not installed here"):
        sweep.TaskRunner(n_tasks=4, scheduler="tcp://127.0.0.1:8786")
