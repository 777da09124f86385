// Composes schema/supergraph.graphql from the subgraph SDLs that `kotohub sdl` exports
// (schema/<name>.graphql), with each subgraph's URL from the embedded default's
// configuration. The output is committed so that `cargo run` and `cargo test` never need
// Node; `--check` fails when the committed supergraph is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..");
// Name and default URL of each subgraph, as in deploy/config/kotohub.toml.
const subgraphs = [
  ["programme", "http://127.0.0.1:4101/graphql"],
  ["employment", "http://127.0.0.1:4102/graphql"],
  ["education", "http://127.0.0.1:4103/graphql"],
  ["social", "http://127.0.0.1:4104/graphql"],
  ["culture", "http://127.0.0.1:4105/graphql"],
  ["audit", "http://127.0.0.1:4106/graphql"],
  ["queries", "http://127.0.0.1:4107/graphql"],
];

const result = composeServices(
  subgraphs.map(([name, url]) => ({
    name,
    url,
    typeDefs: parse(readFileSync(join(schemaDir, `${name}.graphql`), "utf8")),
  })),
);
if (result.errors?.length) {
  for (const error of result.errors) console.error(`composition error: ${error.message}`);
  process.exit(1);
}
const supergraph = result.supergraphSdl.trimEnd() + "\n";
const target = join(schemaDir, "supergraph.graphql");
if (process.argv.includes("--check")) {
  let committed = "";
  try {
    committed = readFileSync(target, "utf8");
  } catch {}
  if (committed !== supergraph) {
    console.error("schema/supergraph.graphql is stale: run `npm run compose` in schema/compose");
    process.exit(1);
  }
  console.log("schema/supergraph.graphql is up to date");
} else {
  writeFileSync(target, supergraph);
  console.log(`wrote ${target}`);
}
