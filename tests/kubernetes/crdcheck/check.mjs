// Validates Prometheus Operator objects (PrometheusRule, ServiceMonitor, AlertmanagerConfig...)
// against the CRD models of @kubernetes-models/prometheus-operator, offline.
//
// stdin: [{"id": "...", "object": {...}}]; stdout: [{"id", "errors": [...]}].
//
// Two checks per object:
// 1. The model's own validator (compiled from the operator's CRD OpenAPI schemas): types,
//    required fields, enums, patterns (durations, matchType...).
// 2. Unknown fields. The CRD schemas do not forbid extra properties, and an API server
//    silently prunes a field it does not know, so a misspelt key (`scrapeInterval` for
//    `interval`) would pass check 1 and then do nothing in the cluster. The model's type
//    declarations (.d.ts) list every field of every type: walk the object along them and
//    report each key that is not declared. A field typed as free JSON is not descended into,
//    except AlertmanagerConfig's nested `routes`, which the operator reads as Routes.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODELS = path.join(HERE, "node_modules", "@kubernetes-models", "prometheus-operator");
const NODE_MODULES = path.join(HERE, "node_modules");

function dtsFor(fromFile, spec) {
  const base = spec.startsWith(".") ? path.resolve(path.dirname(fromFile), spec) : path.join(NODE_MODULES, spec);
  return base.replace(/\.js$/, "") + ".d.ts";
}

const cache = new Map();
let nestedRoutes = [];
// {fields: {name: typeText}, imports: {TypeName: d.ts path}} of the first interface in a file.
function declarations(file) {
  if (cache.has(file)) return cache.get(file);
  const text = fs.readFileSync(file, "utf8");
  const imports = {};
  for (const m of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) imports[name] = dtsFor(file, m[2]);
  }
  const body = text.match(/^export interface \w+(?: extends ([\w, ]+))? \{\n([\s\S]*?)^\}/m);
  const fields = {};
  const decl = { fields, imports, file };
  cache.set(file, decl);
  // Inherited fields (PrometheusSpec extends CommonPrometheusFields); TypeMeta is not ours.
  for (const base of (body && body[1] ? body[1].split(",").map((s) => s.trim()) : [])) {
    if (imports[base] && fs.existsSync(imports[base])) Object.assign(fields, declarations(imports[base]).fields);
  }
  if (body) {
    // `"name"?: Type;` on one line, or a map type opening a block (`"name"?: {`).
    for (const m of body[2].matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) fields[m[1]] = m[2];
  }
  return decl;
}

function elementType(typeText) {
  const arr = typeText.match(/^Array<(.+)>$/);
  return arr ? arr[1] : typeText;
}

function unknownFields(value, file, where, errors) {
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => unknownFields(item, file, `${where}/${i}`, errors));
    return;
  }
  const decl = declarations(file);
  for (const [key, child] of Object.entries(value)) {
    if (!(key in decl.fields)) {
      errors.push(`${where}/${key}: not a field of ${path.basename(file, ".d.ts")}`);
      continue;
    }
    const type = elementType(decl.fields[key]);
    if (key === "routes" && path.basename(file) === "Route.d.ts") {
      // Nested routes are free JSON in the CRD (so the model's validator skips them); the
      // operator parses each as a Route: check them with the Route model too.
      (Array.isArray(child) ? child : []).forEach((route, i) => nestedRoutes.push({ where: `${where}/${key}/${i}`, route }));
      unknownFields(child, file, `${where}/${key}`, errors);
    } else if (/^I\w+$/.test(type) && decl.imports[type] && !/ApiextensionsV1JSON$/.test(type)) {
      unknownFields(child, decl.imports[type], `${where}/${key}`, errors);
    }
  }
}

async function check({ id, object }) {
  const errors = [];
  const [group, version] = String(object.apiVersion).split("/");
  const file = path.join(MODELS, group, version || "", `${object.kind}.js`);
  if (group !== "monitoring.coreos.com" || !fs.existsSync(file)) {
    return { id, errors: [`no Prometheus Operator model for ${object.apiVersion} ${object.kind}`] };
  }
  const mod = await import(file);
  const Model = mod[object.kind];
  try {
    new Model(object).validate();
  } catch (exc) {
    errors.push(String(exc.message || exc));
  }
  const specFile = path.join(MODELS, group, version, `${object.kind}Spec.d.ts`);
  nestedRoutes = [];
  if (object.spec !== undefined) unknownFields(object.spec, specFile, "spec", errors);
  if (nestedRoutes.length) {
    const { Route } = await import(path.join(MODELS, group, version, "Route.js"));
    for (const { where, route } of nestedRoutes) {
      try {
        new Route(route).validate();
      } catch (exc) {
        errors.push(`${where}: ${exc.message || exc}`);
      }
    }
  }
  return { id, errors };
}

const input = JSON.parse(fs.readFileSync(0, "utf8"));
const results = [];
for (const item of input) results.push(await check(item));
process.stdout.write(JSON.stringify(results));
