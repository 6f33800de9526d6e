"""Malformed workloads and profiles are rejected with the file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import write_profile, write_workload

from adaptsched.sim.errors import SimInputError
from adaptsched.sim.profile import load_profile, load_profiles
from adaptsched.sim.workload import check_applications, load_workload


def _corrupt(path: Path, line: int, column: int, value: str) -> None:
    lines = path.read_text().splitlines()
    cells = lines[line - 1].split(",")
    cells[column - 1] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def test_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(write_profile(tmp_path))
    assert profile.spec.epochs == 4
    assert sorted(profile.validation) == [8, 64]
    assert profile.scalability is not None
    assert profile.host == {}  # host.csv is optional


def test_host_table_loads_and_bad_rows_are_named(tmp_path: Path) -> None:
    folder = write_profile(tmp_path)
    (folder / "host.csv").write_text(
        "replicas,local_bsz,step_time\n2,64,0.2\n2,16,0.05\n2,64,0.3\n3,16,0.09\n"
    )
    host = load_profile(folder).host
    assert sorted(host) == [2, 3]
    assert host[2][0].tolist() == [16.0, 64.0] and host[2][1].tolist() == pytest.approx(
        [0.05, 0.25]
    )
    _corrupt(folder / "host.csv", 3, 3, "-1")
    with pytest.raises(SimInputError, match=r"host.csv:3:3: .*step_time"):
        load_profile(folder)


@pytest.mark.parametrize(
    ("name", "line", "column", "value", "problem"),
    [
        ("placements.csv", 3, 3, "fast", "step_time"),
        ("placements.csv", 5, 1, "1a", "placement"),
        ("placements.csv", 4, 2, "-8", "local_bsz"),
        ("placements.csv", 6, 4, "9.0", "sync_time: must be below step_time"),
        ("scalability.csv", 2, 5, "nan", "sync_time"),
        ("validation-8.csv", 3, 4, "", "grad_sqr"),
        ("validation-64.csv", 3, 1, "1.0", "progress: decreases"),
    ],
)
def test_bad_profile_cell(
    tmp_path: Path, name: str, line: int, column: int, value: str, problem: str
) -> None:
    folder = write_profile(tmp_path)
    _corrupt(folder / name, line, column, value)
    with pytest.raises(SimInputError) as err:
        load_profile(folder)
    message = str(err.value)
    assert f"{name}:{line}:{column}:" in message
    assert problem in message


def test_missing_column_and_file(tmp_path: Path) -> None:
    folder = write_profile(tmp_path)
    text = (folder / "placements.csv").read_text().replace("sync_time", "sync")
    (folder / "placements.csv").write_text(text)
    with pytest.raises(SimInputError, match=r"placements.csv:1: missing column 'sync_time'"):
        load_profile(folder)
    (folder / "placements.csv").unlink()
    with pytest.raises(SimInputError, match=r"placements\.csv: missing"):
        load_profile(folder)


def test_profile_json_errors(tmp_path: Path) -> None:
    folder = write_profile(tmp_path)
    (folder / "profile.json").write_text('{"epochs": 3,\n "init_batch": }')
    with pytest.raises(SimInputError, match=r"profile.json:2:\d+: invalid JSON"):
        load_profile(folder)
    (folder / "profile.json").write_text('{"epochs": 0, "init_batch": 8}')
    with pytest.raises(SimInputError, match="'epochs' must be a positive integer"):
        load_profile(folder)
    (folder / "profile.json").unlink()
    with pytest.raises(SimInputError, match="no constants for application 'toy'"):
        load_profile(folder)


def test_builtin_constants_need_no_json(tmp_path: Path) -> None:
    folder = write_profile(tmp_path, name="cifar10")
    (folder / "profile.json").unlink()
    assert load_profile(folder).spec.init_batch == 128


def test_bad_workload(tmp_path: Path) -> None:
    path = write_workload(tmp_path / "w.csv", [("a", 0, 1, 8), ("b", 5, 2, 16)])
    _corrupt(path, 3, 4, "two")
    with pytest.raises(SimInputError, match=r"w.csv:3:4: num_replicas: 'two'"):
        load_workload(path)
    path = write_workload(tmp_path / "w.csv", [("a", 0, 1, 8), ("a", 5, 2, 16)])
    with pytest.raises(SimInputError, match=r"w.csv:3:1: name: 'a' already used on line 2"):
        load_workload(path)
    path = write_workload(tmp_path / "w.csv", [("a", 0, 1, 8)], app="mnist")
    with pytest.raises(SimInputError, match=r"w.csv:2:3: application: no profile for 'mnist'"):
        check_applications(path, load_workload(path), {"toy"})


def test_unknown_application_folder(tmp_path: Path) -> None:
    write_profile(tmp_path)
    with pytest.raises(SimInputError, match="no profile folder for application"):
        load_profiles(tmp_path, {"toy", "bert"})
