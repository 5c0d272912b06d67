"""`recruit up --replicas`: what it accepts, and which process listens where."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.runtime.supervisor import Supervisor, parse_replicas


def test_replicas_are_parsed_and_a_service_not_named_runs_once() -> None:
    assert parse_replicas("screening=3, placement=2,reporting=2,intake=4") == {
        "screening": 3, "placement": 2, "reporting": 2, "intake": 4}
    assert parse_replicas("") == {}


@pytest.mark.parametrize("text, says", [("screning=2", "unknown service 'screning'"),
                                        ("screening=0", "from 1 to 16"), ("screening=x", "from 1 to 16"),
                                        ("screening", "from 1 to 16"), ("placement=17", "from 1 to 16")])
def test_a_wrong_replica_count_is_refused_and_named(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_replicas(text)


def test_extra_consumer_replicas_take_the_ports_after_the_four_and_intake_gets_workers() -> None:
    supervisor = Supervisor(data_dir=Path("/nowhere"), port_base=9001,
                            replicas=parse_replicas("reporting=2,screening=3,placement=2,intake=2"))
    found = [(p.label, p.port, p.workers, p.log_path.name) for p in supervisor.service_processes()]
    assert found == [
        ("intake", 9001, 2, "intake.log"), ("screening", 9002, 1, "screening.log"),
        ("placement", 9003, 1, "placement.log"), ("reporting", 9004, 1, "reporting.log"),
        ("screening-2", 9005, 1, "screening-2.log"), ("screening-3", 9006, 1, "screening-3.log"),
        ("placement-2", 9007, 1, "placement-2.log"), ("reporting-2", 9008, 1, "reporting-2.log"),
    ]
    # Without --replicas: the four, one process each, as before.
    assert [(p.label, p.port) for p in Supervisor(data_dir=Path("/nowhere")).service_processes()] == [
        ("intake", 8001), ("screening", 8002), ("placement", 8003), ("reporting", 8004)]
