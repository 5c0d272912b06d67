"""The README's commands work: the two opening commands exist and CI runs the test one, and the
"Try it" walk-through runs, as written, against a real `recruit up`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```sh\n(.*?)```", README, re.S)


def test_readme_opens_with_the_two_setup_commands() -> None:
    first = BLOCKS[0]
    assert README.index("```sh") < README.index("## What it is"), "the commands come first"
    assert re.search(r"^make up\b", first, re.M) and re.search(r"^make test\b", first, re.M)
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^up: \$\(STAMP\)\n\t\$\(BIN\)/recruit up", makefile, re.M)
    assert re.search(r"^test: \$\(STAMP\)[^\n]*\n\t\$\(BIN\)/pytest", makefile, re.M)
    assert re.search(r"pip install --quiet -e '\.\[test(,\w+)*\]'", makefile), "the test extra comes with make install"


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_try_it_walkthrough_runs_against_recruit_up(recruit_up, tmp_path) -> None:
    """As written, on a --port-base and --data-dir of its own: the block finds both in the data dir."""
    up = recruit_up(data_dir=tmp_path / "elsewhere")
    [walkthrough] = [b for b in BLOCKS if "/v1/applications" in b and "KEY=" in b]
    assert "localhost:80" not in walkthrough, "no port is written into the walk-through"
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "DATA": str(up.data_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert '"outcome":"selected","score":76' in result.stdout
    assert '"level":"state","unit_id":"RJ"' in result.stdout
    assert '"applications":1' in lines[-1]

    # A step that fails stops the walk-through and shows the server's answer.
    broken = walkthrough.replace('"age":24', '"age":12')
    failed = subprocess.run(["bash", "-euo", "pipefail", "-c", broken], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**os.environ, "DATA": str(up.data_dir)})
    assert failed.returncode != 0 and '"field": "age"' in failed.stderr and "422" in failed.stderr
