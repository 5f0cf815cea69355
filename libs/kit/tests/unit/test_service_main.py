"""Every service's command line: options of the demo wherever they stand, operator arguments on."""

import argparse

import pytest

from binhyen.kit.operations import service_main


def _run(argv: list[str]) -> dict[str, object]:
    seen: dict[str, object] = {}

    def demo(args: argparse.Namespace) -> None:
        seen.update(vars(args))

    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8002")

    service_main(
        "example",
        settings=lambda: pytest.fail("the demo needs no settings"),
        serve=lambda _settings: pytest.fail("not serving"),
        demo=demo,
        demo_options=options,
        argv=argv,
    )
    return seen


def test_the_demo_reads_its_options_after_the_command() -> None:
    assert _run(["demo", "--url", "http://incidents:8002"])["url"] == "http://incidents:8002"
    assert _run(["--url", "http://x:1", "demo"])["url"] == "http://x:1"


def test_an_unknown_option_is_refused_outside_the_operator_commands() -> None:
    with pytest.raises(SystemExit) as exited:
        _run(["demo", "--all"])
    assert exited.value.code == 2
