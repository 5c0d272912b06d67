"""bench/pipeline_lag.py, issue 12's instrument, on a small import: it runs end to end against its own
`recruit up` and prints every figure its README table and closing notes quote (times, the raw ceiling and
the ratio, each process's CPU, the floor that CPU sets, the database's CPU by whom it served, the timeline),
so a change that breaks the bench shows here rather than in the next session's measurements."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Half a minute to a minute with its own `recruit up`: in the second pass (`make test-slow`).
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ROWS = 12_000  # enough that the services' shares of the database's CPU reach the printed tenth of a second


def number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"{pattern!r} not in the bench's output:\n{text}"
    return float(found.group(1).replace(",", ""))


def test_the_pipeline_bench_runs_and_prints_every_figure() -> None:
    result = subprocess.run(
        [sys.executable, "bench/pipeline_lag.py", "--rows", str(ROWS), "--chunk-rows", "4000", "--runs", "1",
         "--timeline", "--database-cpu"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr[-3000:]

    answered = number(r"last bulk response:\s+([\d.]+) s", output)
    queued = number(r"queued by screening \(the goal, <= 30 s\):\s+([\d.]+) s", output)
    ceiling = number(r"raw ceiling \(COPY \+ produce \+ consume, 1 process\):\s+([\d.]+) s", output)
    assert 0 < answered <= queued, output
    assert ceiling > 0, output
    # The ratio comes from the unrounded times; the printed ones are rounded to a tenth of a second.
    ratio = number(r"pipeline / raw ceiling = ([\d.]+)", output)
    assert (ceiling - 0.05) / (queued + 0.05) - 0.005 <= ratio <= (ceiling + 0.05) / (queued - 0.05) + 0.005, output

    work = number(r"CPU seconds a run: pipeline ([\d.]+)", output)
    raw_work = number(r"raw ceiling ([\d.]+) \(this process", output)
    assert work > 0 and raw_work > 0, output
    floor = number(r"the floor that work sets on \d+ cores: ([\d.]+) s", output)
    assert floor == pytest.approx(work / (os.cpu_count() or 1), abs=0.1), output
    # The pipeline cannot finish before the floor its own CPU seconds set (every core busy throughout): a
    # floor past the time would mean CPU counted twice. The CPU is read just before the first request and
    # just after the last count, a little longer than the timed span: a second of slack.
    assert floor <= queued + 1.0, output

    for process in ("intake", "screening", "placement", "reporting", "broker", "postgres (all backends)"):
        assert re.search(rf"CPU seconds until all queued: .*\b{re.escape(process)} [\d.]+", output), process
    assert "timeline (CPU % of one core each second" in output
    if not os.environ.get("DATABASE_URL"):  # the database's split needs the embedded server's processes
        served = re.search(r"PostgreSQL's CPU seconds by whom its processes served: (.*)", output)
        assert served, output
        for service in ("intake", "screening", "reporting"):
            assert re.search(rf"recruit-{service} [\d.]+", served.group(1)), served.group(1)
