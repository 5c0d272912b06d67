"""AsyncAPI: each service's /asyncapi.json, FastStream's document with every message described as it is on
the wire (the SPEC envelope with its event's data, its Kafka key, its event_type header).

FastStream 0.7 gives the servers, channels and operations from the broker's declared subscribers and
publishers, but it cannot say what this project's messages are: a message gets a generic name
("Message", "SubscribeMessage") and a correlationId pointing at a `correlation_id` header no message
carries, and it has no field for headers or a Kafka key binding (its Message model leaves them as TODO);
a consumer's payload comes from its handler's signature, and one batch subscriber over several topics
takes raw records, so every received message would be `EmptyPayload`. So `describe_wire` replaces each
channel's message with the event its topic carries, built from shared.events.Envelope and EVENTS.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from faststream.specification.asyncapi.utils import ref
from pydantic import BaseModel, create_model

from shared.events import EVENTS, Envelope
from shared.geography import STATES

# The Kafka binding version FastStream writes on channels; the messages' bindings use the same.
KAFKA_BINDING_VERSION = "0.4.0"
EVENT_TYPE_ON: dict[str, str] = {topic: event_type for event_type, (topic, _) in EVENTS.items()}
SCHEMA_REF = "#/components/schemas/{model}"


def document(broker: KafkaBroker, title: str) -> dict[str, Any]:
    """The service's AsyncAPI 3.0 document, as /asyncapi.json serves it."""
    generated = AsyncAPI(broker, title=title, version="1.0.0").to_specification().to_jsonable()
    return describe_wire(generated)


@cache
def envelope_model(event_type: str) -> type[BaseModel]:
    """The envelope of one event type with `data` typed as its event's model (Envelope keeps it a dict)."""
    topic, data = EVENTS[event_type]
    return create_model(
        f"{data.__name__}Envelope", __base__=Envelope,
        __doc__=f"A {event_type} event on {topic}: the SPEC envelope, its data a {data.__name__}.",
        event_type=(Literal[event_type], ...), data=(data, ...),
    )


def key_schema(event_type: str) -> dict[str, Any]:
    """The Kafka key's schema; the rule itself is Envelope.kafka_key()."""
    if event_type == "screening.completed":
        return {"type": "string", "enum": sorted(STATES),
                "description": "the state code (data.state): one partition sees a state's results in order"}
    return {"type": "string", "format": "uuid", "description": "the application id (application_id)"}


TRACEPARENT_PATTERN = "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


def headers_schema(event_type: str) -> dict[str, Any]:
    # Open to more headers: the relay may add others (trace context), and a consumer ignores them.
    return {
        "type": "object",
        "properties": {"event_type": {"type": "string", "const": event_type,
                                      "description": "the envelope's event_type, readable without decoding it"},
                       "traceparent": {"type": "string", "pattern": TRACEPARENT_PATTERN,
                                       "description": "W3C trace context of the span that wrote the event; only "
                                                      "when the producing service traces (shared/tracing.py)"}},
        "required": ["event_type"],
    }


def describe_wire(generated: dict[str, Any]) -> dict[str, Any]:
    """Name each channel's message after the event its topic carries, with the envelope as payload, its
    key, its headers and application_id as the correlation id; every schema comes from the pydantic models."""
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    renamed: dict[str, str] = {}  # a channel's old message reference -> its new one
    for channel_key, channel in generated.get("channels", {}).items():
        event_type = EVENT_TYPE_ON[channel["address"]]
        for old_name in channel["messages"]:
            renamed[_ref("channels", channel_key, "messages", old_name)] = _ref(
                "channels", channel_key, "messages", event_type)
        channel["messages"] = {event_type: {"$ref": _ref("components", "messages", event_type)}}
        if event_type not in messages:
            messages[event_type] = _message(event_type, schemas)
    for operation in generated.get("operations", {}).values():
        operation["messages"] = [{"$ref": renamed[message["$ref"]]} for message in operation["messages"]]
    generated["components"] = {"messages": messages, "schemas": schemas}
    return generated


def _message(event_type: str, schemas: dict[str, Any]) -> dict[str, Any]:
    topic, data = EVENTS[event_type]
    model = envelope_model(event_type)
    schemas[model.__name__] = _schema(model, schemas)
    return {
        "name": event_type,
        "title": data.__name__,
        "summary": f"the {event_type} event in the SPEC envelope, on topic {topic}",
        "contentType": "application/json",
        "payload": {"$ref": SCHEMA_REF.format(model=model.__name__)},
        "headers": headers_schema(event_type),
        "correlationId": {"location": "$message.payload#/application_id",
                          "description": "every event about one application carries its id"},
        "bindings": {"kafka": {"key": key_schema(event_type), "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _schema(model: type[BaseModel], schemas: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema (as consumers validate it), its nested models moved into `schemas`."""
    schema = model.model_json_schema(ref_template=SCHEMA_REF)
    schemas.update(schema.pop("$defs", {}))
    return schema


def _ref(*parts: str) -> str:
    # Escaped as FastStream escapes its own references (a channel key may hold ":" and ",").
    return ref(*parts)["$ref"]
