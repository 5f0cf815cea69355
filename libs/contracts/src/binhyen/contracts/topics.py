"""Topic catalogue: the one list of topics that code and deploy/ both read.

Each event module declares its topic next to its events; this module gathers them.
"""

from binhyen.contracts.envelope import EventData
from binhyen.contracts.events import (
    accounts,
    enrolments,
    households,
    incidents,
    notifications,
    organisations,
    people,
    public,
    reporting,
    tasks,
    units,
)
from binhyen.contracts.spec import TopicSpec, dead_letter_topic

REGISTRY_UNITS = units.TOPIC
REGISTRY_HOUSEHOLDS = households.TOPIC
REGISTRY_PEOPLE = people.TOPIC
REGISTRY_ORGANISATIONS = organisations.TOPIC
REGISTRY_TASKS = tasks.TOPIC
REGISTRY_ENROLMENTS = enrolments.TOPIC
REGISTRY_PUBLIC = public.TOPIC
REGISTRY_ACCOUNTS = accounts.TOPIC
INCIDENTS = incidents.TOPIC
INCIDENTS_ESCALATIONS = incidents.ESCALATIONS_TOPIC
INCIDENTS_PUBLIC = incidents.PUBLIC_TOPIC
INCIDENTS_CATEGORIES = incidents.CATEGORIES_TOPIC
NOTIFICATIONS_ALERTS = notifications.ALERTS_TOPIC
NOTIFICATIONS_DELIVERIES = notifications.DELIVERIES_TOPIC
NOTIFICATIONS_PUBLIC = notifications.PUBLIC_TOPIC
REPORTING_EVALUATIONS = reporting.EVALUATIONS_TOPIC
REPORTING_HOTSPOTS = reporting.HOTSPOTS_TOPIC
REPORTING_PUBLIC = reporting.PUBLIC_TOPIC

CATALOGUE: tuple[TopicSpec, ...] = (
    REGISTRY_UNITS,
    REGISTRY_HOUSEHOLDS,
    REGISTRY_PEOPLE,
    REGISTRY_ORGANISATIONS,
    REGISTRY_TASKS,
    REGISTRY_ENROLMENTS,
    REGISTRY_PUBLIC,
    REGISTRY_ACCOUNTS,
    INCIDENTS,
    INCIDENTS_ESCALATIONS,
    INCIDENTS_PUBLIC,
    INCIDENTS_CATEGORIES,
    NOTIFICATIONS_ALERTS,
    NOTIFICATIONS_DELIVERIES,
    NOTIFICATIONS_PUBLIC,
    REPORTING_EVALUATIONS,
    REPORTING_HOTSPOTS,
    REPORTING_PUBLIC,
)

# Dead-letter topics, one per consumer group (a service that consumes has one).
INCIDENTS_DEAD_LETTERS = dead_letter_topic("incidents")
NOTIFICATIONS_DEAD_LETTERS = dead_letter_topic("notifications")
REPORTING_DEAD_LETTERS = dead_letter_topic("reporting")
DEAD_LETTER_TOPICS: tuple[TopicSpec, ...] = (
    INCIDENTS_DEAD_LETTERS,
    NOTIFICATIONS_DEAD_LETTERS,
    REPORTING_DEAD_LETTERS,
)

# What the reporting service consumes, so what its Kafka user is granted to read (besides its
# own topics): the state of units, households, teams and enrolments, incidents and their
# hand-overs, the category catalogue (names of the codes incidents carry), alerts, and
# accounts (to refuse deactivated tokens). Not people, nor
# deliveries: its read model keeps no personal data, so it does not read it either.
REPORTING_READS: tuple[TopicSpec, ...] = (
    REGISTRY_UNITS,
    REGISTRY_HOUSEHOLDS,
    REGISTRY_ORGANISATIONS,
    REGISTRY_ENROLMENTS,
    REGISTRY_ACCOUNTS,
    INCIDENTS,
    INCIDENTS_ESCALATIONS,
    INCIDENTS_CATEGORIES,
    NOTIFICATIONS_ALERTS,
)

# Everything the deploy step creates (deploy/kafka/topics.json).
DEPLOYED_TOPICS: tuple[TopicSpec, ...] = CATALOGUE + DEAD_LETTER_TOPICS


def topic_for_event(data: EventData | type[EventData]) -> TopicSpec:
    """Return the topic an event type is published on."""
    for spec in CATALOGUE:
        if data.event_type in spec.event_types:
            return spec
    raise LookupError(f"no topic carries {data.event_type}")
