"""`adaptsched submit`'s command line: the script's arguments after `--` never become ours,
whether or not options come before them."""

from __future__ import annotations

import pytest

from adaptsched.cli import submit
from adaptsched.cli.main import parse


@pytest.mark.parametrize(
    ("argv", "name", "script_args"),
    [
        (["submit", "t.py", "--", "--epochs", "3"], None, ["--epochs", "3"]),
        (["submit", "t.py", "--name", "a", "--", "--epochs", "3"], "a", ["--epochs", "3"]),
        (["submit", "--name", "a", "t.py", "--", "--name", "b"], "a", ["--name", "b"]),
        (["submit", "t.py", "--", "x", "--", "y"], None, ["x", "--", "y"]),
        (["submit", "t.py", "--metric", "speed"], None, []),
        (["submit", "t.py"], None, []),
    ],
)
def test_script_arguments_stay_the_scripts(
    argv: list[str], name: str | None, script_args: list[str]
) -> None:
    _, args = parse(argv)
    assert submit._split(args) == script_args
    assert args.name == name and str(args.script) == "t.py"


def test_an_unknown_option_before_the_separator_is_still_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, args = parse(["submit", "t.py", "--nme", "a", "--", "--epochs", "3"])
    with pytest.raises(SystemExit):
        submit._split(args)
    assert "--nme" in capsys.readouterr().err
