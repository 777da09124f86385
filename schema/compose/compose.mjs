// Composes schema/supergraph.graphql from the subgraph SDLs that `kotohub sdl` exports
// (schema/<name>.graphql), with each subgraph's URL from the embedded default's
// configuration, and deploy/k8s/base/supergraph.graphql from the same SDLs with each
// subgraph at its Kubernetes Service (http://kotohub-<name>/graphql). The output is committed so that `cargo run` and `cargo test` never need
// Node; `--check` fails when the committed supergraph is stale. With `--bench` it composes
// the federation benchmark's four subgraphs instead (schema/bench, from
// `kotohub-federation-bench sdl`); with `--conformance` each supergraph of the gateway's
// conformance suite (crates/gateway/tests/conformance/<name>/, from every <sub>.graphql
// there, corrected by its composition-fixes.json where this composer is wrong).
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const bench = process.argv.includes("--bench");
const conformance = process.argv.includes("--conformance");
const check = process.argv.includes("--check");
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
// Name and default URL of each subgraph, as in deploy/config/kotohub.toml, or as the
// benchmark serves them.
const kotohub = [
  ["programme", "http://127.0.0.1:4101/graphql"],
  ["employment", "http://127.0.0.1:4102/graphql"],
  ["education", "http://127.0.0.1:4103/graphql"],
  ["social", "http://127.0.0.1:4104/graphql"],
  ["culture", "http://127.0.0.1:4105/graphql"],
  ["partners", "http://127.0.0.1:4108/graphql"],
  ["audit", "http://127.0.0.1:4106/graphql"],
  ["queries", "http://127.0.0.1:4107/graphql"],
];
const benchmark = [
  ["accounts", "http://127.0.0.1:4201/graphql"],
  ["products", "http://127.0.0.1:4202/graphql"],
  ["reviews", "http://127.0.0.1:4203/graphql"],
  ["inventory", "http://127.0.0.1:4204/graphql"],
];

// Composes `subgraphs` ([name, url] of each <name>.graphql in `dir`) into `target`
// (dir/supergraph.graphql unless named), or with --check tells whether the committed one
// is stale. Returns whether it succeeded.
function compose(dir, subgraphs, hint, target = join(dir, "supergraph.graphql")) {
  const result = composeServices(
    subgraphs.map(([name, url]) => ({
      name,
      url,
      typeDefs: parse(readFileSync(join(dir, `${name}.graphql`), "utf8")),
    })),
  );
  if (result.errors?.length) {
    for (const error of result.errors) console.error(`${dir}: composition error: ${error.message}`);
    return false;
  }
  let supergraph = result.supergraphSdl.trimEnd() + "\n";
  // A conformance supergraph may correct what this composer gets wrong, each correction
  // with its reason; one that no longer matches fails, so a fixed composer is noticed.
  let fixes = [];
  try {
    fixes = JSON.parse(readFileSync(join(dir, "composition-fixes.json"), "utf8"));
  } catch {}
  for (const fix of fixes) {
    if (supergraph.split(fix.replace).length !== 2) {
      console.error(`${dir}: a composition fix no longer matches exactly once: ${fix.reason}`);
      return false;
    }
    supergraph = supergraph.replace(fix.replace, fix.with);
  }
  if (check) {
    let committed = "";
    try {
      committed = readFileSync(target, "utf8");
    } catch {}
    if (committed !== supergraph) {
      console.error(`${target} is stale: run \`${hint}\` in schema/compose`);
      return false;
    }
    console.log(`${target} is up to date`);
  } else {
    writeFileSync(target, supergraph);
    console.log(`wrote ${target}`);
  }
  return true;
}

let ok = true;
if (conformance) {
  // The suite's subgraphs are served on ports picked at test time: the URLs here only
  // name them.
  const suite = join(root, "crates", "gateway", "tests", "conformance");
  for (const name of readdirSync(suite).sort()) {
    const dir = join(suite, name);
    const subgraphs = readdirSync(dir)
      .filter((file) => file.endsWith(".graphql") && file !== "supergraph.graphql")
      .map((file) => file.slice(0, -".graphql".length))
      .sort()
      .map((sub) => [sub, `http://${sub}.invalid/graphql`]);
    ok = compose(dir, subgraphs, "node compose.mjs --conformance") && ok;
  }
} else {
  const dir = join(root, "schema", bench ? "bench" : "");
  ok = compose(dir, bench ? benchmark : kotohub, `npm run compose${bench ? "-bench" : ""}`);
  if (!bench) {
    const inCluster = kotohub.map(([name]) => [name, `http://kotohub-${name}/graphql`]);
    const target = join(root, "deploy", "k8s", "base", "supergraph.graphql");
    ok = compose(dir, inCluster, "npm run compose", target) && ok;
  }
}
if (!ok) process.exit(1);
