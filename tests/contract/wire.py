"""The services' AsyncAPI documents as a reader gets them, the official parser's reading of them, and
real Kafka records checked against them (value against the payload schema, key against the kafka key
binding, headers against the headers schema)."""

from __future__ import annotations

import asyncio
import importlib
import json
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator, FormatChecker

from shared.kafka_offsets import log_ends, partitions_of, plain_reader

SERVICES = ("intake", "screening", "placement", "reporting")
NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")


async def served_documents() -> dict[str, dict]:
    """Each service's /asyncapi.json, from its real app and route (nothing started: the document
    comes from the declarations app.py makes)."""
    from shared.settings import get_settings

    documents = {}
    for service in SERVICES:
        app = importlib.import_module(f"services.{service}.app").create_app(get_settings())
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.get("/asyncapi.json")
            assert response.status_code == 200, response.text
            documents[service] = response.json()
    return documents


def parse_with_asyncapi_parser(documents: dict[str, dict], folder: Path) -> dict[str, dict]:
    """service -> {"diagnostics": [...], "operations": [{"action", "address", "message", "payload", "headers",
    "key"}]} as @asyncapi/parser reads each document (tests/contract/node/validate.mjs)."""
    assert NODE is not None
    if not (NODE_DIR / "node_modules" / "@asyncapi" / "parser").is_dir():
        raise AssertionError(f"@asyncapi/parser is not installed: run `npm ci --ignore-scripts` in {NODE_DIR}")
    files = {}
    for service, document in documents.items():
        files[service] = folder / f"{service}.asyncapi.json"
        files[service].write_text(json.dumps(document))
    done = subprocess.run([NODE, "validate.mjs", *map(str, files.values())], cwd=NODE_DIR, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    parsed = json.loads(done.stdout)
    return {service: parsed[str(path)] for service, path in files.items()}


@dataclass
class MessageSchemas:
    payload: Draft202012Validator
    key: Draft202012Validator
    headers: Draft202012Validator


def schemas_by_topic(documents: dict[str, dict]) -> dict[str, list[MessageSchemas]]:
    """For each topic, the message schemas of every document that sends or receives it."""
    by_topic: dict[str, list[MessageSchemas]] = {}
    for document in documents.values():
        for channel in document["channels"].values():
            for reference in channel["messages"].values():
                message = _resolve(document, reference)
                by_topic.setdefault(channel["address"], []).append(MessageSchemas(
                    payload=_validator(document, message["payload"]),
                    key=_validator(document, message["bindings"]["kafka"]["key"]),
                    headers=_validator(document, message["headers"]),
                ))
    return by_topic


def record_violations(by_topic: dict[str, list[MessageSchemas]], records: Iterable[Any]) -> list[str]:
    """Every way the records (aiokafka ConsumerRecords) differ from the documents; empty when they match."""
    problems = []
    for record in records:
        where = f"{record.topic}/{record.partition}@{record.offset}"
        if record.topic not in by_topic:
            problems.append(f"{where}: no document describes topic {record.topic}")
            continue
        value = json.loads(record.value)
        key = record.key.decode() if record.key is not None else None
        headers = {name: raw.decode() for name, raw in record.headers}
        for schemas in by_topic[record.topic]:
            for part, validator, instance in (("value", schemas.payload, value), ("key", schemas.key, key),
                                              ("headers", schemas.headers, headers)):
                problems += [f"{where} {part}: {error.message} at {error.json_path}"
                             for error in validator.iter_errors(instance)]
    return problems


async def read_every_topic(servers: str, topics: Sequence[str], timeout: float = 30.0) -> list[Any]:
    """Every record of `topics`, from the beginning of each partition to its end as it is now."""
    reader = await plain_reader(servers, "recruit-asyncapi-check")
    try:
        partitions = await partitions_of(reader, topics)
        ends = await log_ends(reader, partitions)
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while [tp for tp in partitions if await reader.position(tp) < ends[tp]]:
            assert asyncio.get_running_loop().time() < deadline, "the topics were not read to their ends in time"
            for batch in (await reader.getmany(timeout_ms=500)).values():
                records += batch
        return records
    finally:
        await reader.stop()


def _resolve(document: dict, reference: dict) -> dict:
    node: Any = document
    for part in reference["$ref"].removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _validator(document: dict, schema: dict) -> Draft202012Validator:
    # The schema's references (#/components/schemas/...) resolve against the whole document.
    return Draft202012Validator({**schema, "components": document["components"]}, format_checker=FormatChecker())
