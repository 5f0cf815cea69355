"""Generate JSON Schemas, the AsyncAPI document and deploy/kafka/topics.json from the models."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

# Importing the event modules registers their types.
from binhyen.contracts import topics as _topics  # noqa: F401
from binhyen.contracts.compat import breaking_changes
from binhyen.contracts.envelope import CloudEvent, EventData, event_types
from binhyen.contracts.examples import Example, example_id, examples
from binhyen.contracts.spec import TopicSpec
from binhyen.contracts.topics import CATALOGUE, DEPLOYED_TOPICS

SCHEMA_DIR = Path("libs/contracts/schemas")
ASYNCAPI_FILE = Path("libs/contracts/asyncapi.json")
TOPICS_FILE = Path("deploy/kafka/topics.json")


def event_schema(model: type[EventData]) -> dict[str, Any]:
    """JSON Schema of one event type's data."""
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = model.schema_url()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


def topics_document() -> dict[str, Any]:
    """The topic definitions deploy/ creates topics from."""
    topics = [
        {
            "name": spec.name,
            "partitions": spec.partitions,
            "configs": spec.configs(),
            "visibility": spec.visibility,
        }
        for spec in DEPLOYED_TOPICS
    ]
    return {"generated_from": "binhyen.contracts.topics.DEPLOYED_TOPICS", "topics": topics}


VISIBILITY = {
    "public": "Public: other agencies may subscribe (read-only). Never personal data.",
    "internal": (
        "Internal: for Bình Yên services only; other agencies are not granted access. "
        "May carry personal data."
    ),
}
SEQUENCE_DIGITS = 20  # the envelope's sequence attribute is zero-padded to 20 digits


def asyncapi_document() -> dict[str, Any]:
    """An AsyncAPI 3.0 document describing every topic and message."""
    types = event_types()
    samples = examples()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    add_component_schema(schemas, "CloudEvent", CloudEvent.model_json_schema())
    for spec in CATALOGUE:
        channel_id = spec.name.replace(".", "_")
        tag = {"name": spec.visibility, "description": VISIBILITY[spec.visibility]}
        refs = {}
        for event_type in spec.event_types:
            model = types[event_type]
            msg_id = model.__name__
            add_component_schema(schemas, msg_id, event_schema(model))
            messages[msg_id] = _message(spec, model, samples[event_type])
            refs[msg_id] = {"$ref": f"#/components/messages/{msg_id}"}
        channels[channel_id] = {
            "address": spec.name,
            "title": spec.name,
            "description": f"{spec.description}\n\n{VISIBILITY[spec.visibility]}",
            "tags": [tag],
            "messages": refs,
            "bindings": {"kafka": _kafka_channel_binding(spec)},
            "x-binhyen-visibility": spec.visibility,
            "x-binhyen-key": spec.key,
        }
        operations[f"receive_{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"Subscribe to {spec.name} ({spec.visibility})",
            "tags": [tag],
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in refs],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Bình Yên events",
            "version": "1.0.0",
            "description": (
                "Events of the Bình Yên platform. Every message is a CloudEvents 1.0 envelope "
                "in structured JSON mode; the Kafka key is the entity id. Each channel says "
                "whether it is public (other agencies may subscribe) or internal; public topics "
                "carry no personal data."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _message(spec: TopicSpec, model: type[EventData], sample: Example) -> dict[str, Any]:
    msg_id = model.__name__
    return {
        "name": model.event_type,
        "title": msg_id,
        "summary": (model.__doc__ or "").strip(),
        "contentType": "application/cloudevents+json",
        "tags": [{"name": spec.visibility, "description": VISIBILITY[spec.visibility]}],
        "externalDocs": {
            "description": "JSON Schema of data (the CloudEvents dataschema).",
            "url": model.schema_url(),
        },
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"Kafka key: the {spec.key}."},
                "bindingVersion": "0.5.0",
            }
        },
        "payload": {
            "allOf": [
                {"$ref": "#/components/schemas/CloudEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": model.event_type},
                        "data": {"$ref": f"#/components/schemas/{msg_id}"},
                    },
                },
            ]
        },
        "examples": [
            {
                "name": f"{msg_id}Example",
                "summary": (model.__doc__ or "").strip(),
                "payload": example_event(sample),
            }
        ],
    }


def example_event(example: Example) -> dict[str, Any]:
    """The structured-JSON CloudEvent of an example, as it travels on Kafka."""
    event = CloudEvent.wrap(
        example.data,
        event_id=example_id(f"event:{example.data.event_type}"),
        time=example.time,
    )
    event = event.model_copy(update={"sequence": str(example.sequence).zfill(SEQUENCE_DIGITS)})
    wire: dict[str, Any] = json.loads(event.to_json())
    return wire


def _kafka_channel_binding(spec: TopicSpec) -> dict[str, Any]:
    configs = spec.configs()
    topic: dict[str, Any] = {"cleanup.policy": [configs["cleanup.policy"]]}
    if "retention.ms" in configs:
        topic["retention.ms"] = int(configs["retention.ms"])
    return {
        "topic": spec.name,
        "partitions": spec.partitions,
        "topicConfiguration": topic,
        "bindingVersion": "0.5.0",
    }


def add_component_schema(schemas: dict[str, Any], name: str, schema: dict[str, Any]) -> None:
    """Add a model's JSON Schema to components.schemas, its ``$defs`` hoisted beside it.

    AsyncAPI tools resolve ``$ref`` against the document, not against a schema's ``$id``, so
    pydantic's ``#/$defs/X`` becomes ``#/components/schemas/X`` and ``$id``/``$schema`` go.
    """
    body = {k: v for k, v in schema.items() if k not in ("$defs", "$id", "$schema")}
    named = {name: body, **schema.get("$defs", {})}
    for key, value in named.items():
        hoisted = _point_refs_at_components(value)
        if key in schemas and schemas[key] != hoisted:
            raise ValueError(
                f"two different schemas are named {key} in the AsyncAPI components; "
                "give one of the models another name"
            )
        schemas[key] = hoisted


def _point_refs_at_components(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: (
                "#/components/schemas/" + v.removeprefix("#/$defs/")
                if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/")
                else _point_refs_at_components(v)
            )
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_point_refs_at_components(v) for v in node]
    return node


def render(value: Any) -> str:
    """Stable JSON text for checked-in files."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def generated_files() -> dict[Path, str]:
    """Every generated file, relative to the repository root, with its content."""
    files = {
        SCHEMA_DIR / f"{event_type}.json": render(event_schema(model))
        for event_type, model in sorted(event_types().items())
    }
    files[ASYNCAPI_FILE] = render(asyncapi_document())
    files[TOPICS_FILE] = render(topics_document())
    return files


def incompatibilities(root: Path) -> list[str]:
    """Breaking changes of the current models against the checked-in schemas."""
    problems: list[str] = []
    for event_type, model in sorted(event_types().items()):
        path = root / SCHEMA_DIR / f"{event_type}.json"
        if path.exists():
            old = json.loads(path.read_text(encoding="utf-8"))
            problems += [f"{event_type}: {p}" for p in breaking_changes(old, event_schema(model))]
    return problems


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, verify) the generated contract files."""
    parser = argparse.ArgumentParser(prog="binhyen-contracts", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="repository root")
    parser.add_argument("--check", action="store_true", help="fail if files are stale")
    args = parser.parse_args(argv)
    root: Path = args.root
    problems = incompatibilities(root)
    if problems:
        print(
            "breaking changes within a version; add a new versioned type instead:", file=sys.stderr
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    stale = []
    for rel, content in generated_files().items():
        path = root / rel
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current != content:
            stale.append(rel)
            if not args.check:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
    if args.check and stale:
        print("stale generated files (run: uv run binhyen-contracts):", file=sys.stderr)
        for rel in stale:
            print(f"  {rel}", file=sys.stderr)
        return 1
    for rel in stale:
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
