// Composes schema/supergraph.graphql from the subgraph SDLs that `kotohub sdl` exports
// (schema/<name>.graphql), with each subgraph's URL from the embedded default's
// configuration. The output is committed so that `cargo run` and `cargo test` never need
// Node; `--check` fails when the committed supergraph is stale. With `--bench` it composes
// the federation benchmark's four subgraphs instead (schema/bench, from
// `kotohub-federation-bench sdl`).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const bench = process.argv.includes("--bench");
const schemaDir = join(dirname(fileURLToPath(import.meta.url)), "..", bench ? "bench" : "");
// Name and default URL of each subgraph, as in deploy/config/kotohub.toml, or as the
// benchmark serves them.
const kotohub = [
  ["programme", "http://127.0.0.1:4101/graphql"],
  ["employment", "http://127.0.0.1:4102/graphql"],
  ["education", "http://127.0.0.1:4103/graphql"],
  ["social", "http://127.0.0.1:4104/graphql"],
  ["culture", "http://127.0.0.1:4105/graphql"],
  ["audit", "http://127.0.0.1:4106/graphql"],
  ["queries", "http://127.0.0.1:4107/graphql"],
];
const benchmark = [
  ["accounts", "http://127.0.0.1:4201/graphql"],
  ["products", "http://127.0.0.1:4202/graphql"],
  ["reviews", "http://127.0.0.1:4203/graphql"],
  ["inventory", "http://127.0.0.1:4204/graphql"],
];
const subgraphs = bench ? benchmark : kotohub;

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
    console.error(`${target} is stale: run \`npm run compose${bench ? "-bench" : ""}\` in schema/compose`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  writeFileSync(target, supergraph);
  console.log(`wrote ${target}`);
}
