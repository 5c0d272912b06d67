// Parses AsyncAPI documents with the official parser, as a new user's tooling would, and prints for each
// file its diagnostics and what the parser reads from it: operations, their messages, payloads, keys, headers.
// Usage: node validate.mjs doc.json [doc.json ...]  -> one JSON object on stdout, keyed by file.
import { readFileSync } from "node:fs";
import { Parser } from "@asyncapi/parser";

const SEVERITY = ["error", "warning", "information", "hint"];
const parser = new Parser();
const results = {};
for (const file of process.argv.slice(2)) {
  const { document, diagnostics } = await parser.parse(readFileSync(file, "utf8"));
  const result = {
    diagnostics: diagnostics.map((d) => ({
      severity: SEVERITY[d.severity], code: d.code, message: d.message, path: d.path.join("/"),
    })),
    operations: [],
  };
  if (document) {
    for (const operation of document.operations()) {
      for (const channel of operation.channels()) {
        for (const message of operation.messages()) {
          const key = message.bindings().get("kafka")?.value()?.key;
          result.operations.push({
            action: operation.action(),
            address: channel.address(),
            message: message.name(),
            payload: message.hasPayload() ? message.payload().json() : null,
            headers: message.hasHeaders() ? message.headers().json() : null,
            key: key ?? null,
          });
        }
      }
    }
  }
  results[file] = result;
}
process.stdout.write(JSON.stringify(results));
