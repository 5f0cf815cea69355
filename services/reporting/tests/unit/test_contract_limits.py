"""The public contract and the disclosure rule agree on the smallest count published."""

from binhyen.contracts.events.reporting import SMALLEST_PUBLIC_COUNT
from binhyen.contracts.topics import REGISTRY_ACCOUNTS, REPORTING_READS
from binhyen.reporting.consumers import CONSUMED
from binhyen.reporting.domain.disclosure import SMALLEST_PUBLISHED


def test_the_contract_refuses_what_disclosure_suppresses() -> None:
    assert SMALLEST_PUBLIC_COUNT == SMALLEST_PUBLISHED


def test_reporting_consumes_exactly_what_its_kafka_user_may_read() -> None:
    assert {*CONSUMED, REGISTRY_ACCOUNTS} == set(REPORTING_READS)
