// Parse LogQL and TraceQL queries with Grafana's own Lezer grammars and report syntax errors.
//
// Grafana's query editors use these same grammars, so a query that parses here is one the
// Loki and Tempo editors accept as well-formed. Used by tests/stack (no Loki or Tempo needed).
//
// Input (stdin): JSON array of {"id": str, "lang": "logql" | "traceql", "query": str}
// Output (stdout): JSON array of {"id", "lang", "errors": [{"from": int, "to": int, "near": str}]}
// Install: npm ci --prefix tests/stack/querycheck
import { readFileSync } from "node:fs";
import { parser as logqlParser } from "@grafana/lezer-logql";
import { parser as traceqlParser } from "@grafana/lezer-traceql";

const PARSERS = { logql: logqlParser, traceql: traceqlParser };

function syntaxErrors(parser, query) {
  const errors = [];
  parser.parse(query).iterate({
    enter(node) {
      // Lezer recovers from bad input by inserting error nodes ("⚠"); any one means the
      // query does not parse.
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, near: query.slice(Math.max(0, node.from - 10), node.to + 10) });
      }
    },
  });
  return errors;
}

const items = JSON.parse(readFileSync(0, "utf8"));
const results = items.map(({ id, lang, query }) => {
  const parser = PARSERS[lang];
  if (!parser) throw new Error(`unknown query language ${JSON.stringify(lang)} for ${id}`);
  return { id, lang, errors: syntaxErrors(parser, query) };
});
process.stdout.write(JSON.stringify(results));
