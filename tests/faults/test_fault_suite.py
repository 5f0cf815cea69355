"""The short fault suite: one run of each fault of bench/faults against real processes.

Each run starts its own Kafka and FerretDB and the registry and two incidents replicas as
processes, writes steadily while it kills or freezes one of them, and checks from the
stores and the topics that nothing accepted was lost, no event was applied twice, order
per key held and everything drained within 60 s. ``bench/faults/run.py`` runs it many
times and prints the table.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _runner() -> ModuleType:
    name = "binhyen_fault_suite"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "faults" / "run.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.parametrize("fault", ["kafka-kill", "ferretdb-kill", "replica-kill", "kafka-pause"])
async def test_nothing_accepted_is_lost_applied_twice_or_reordered_under(
    fault: str, tmp_path: Path
) -> None:
    result = await _runner().run_once(fault, workdir=tmp_path, load_seconds=24)
    assert result.accepted > 100, result.details  # the load really ran
    assert result.ok, "\n".join([result.line(), *result.details[:30]])
