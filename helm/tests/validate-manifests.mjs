// Validates Kubernetes manifests (the output of `helm template`) offline against the API schemas that
// npm's kubernetes-models ships, plus the prometheus-operator CRDs (ServiceMonitor, PrometheusRule).
//
//   helm template ... | node helm/tests/validate-manifests.mjs <tools node dir>
//
// Prints one line per object ("ok apps/v1 Deployment ferry-eu-1-capture") and exits 1 if any object is
// invalid or of a kind no model knows (an unknown kind is an error: a typo in apiVersion must not pass).
// Limit of the models: they check types, required fields and formats, not unknown fields.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const toolsDir = process.argv[2];
if (!toolsDir) {
  console.error('usage: validate-manifests.mjs <tools node dir> < manifests.yaml');
  process.exit(2);
}
const modules = path.join(path.resolve(toolsDir), 'node_modules');
const load = (specifier) => import(pathToFileURL(path.join(modules, specifier)).href);
const YAML = await load('yaml/dist/index.js');

// apiVersion -> module directory holding one model per kind
function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}.js`;
  }
  return `kubernetes-models/${group ? group + '/' : ''}${version}/${kind}.js`;
}

const docs = YAML.parseAllDocuments(fs.readFileSync(0, 'utf8'));
let failures = 0;
let count = 0;
for (const doc of docs) {
  if (doc.errors.length > 0) {
    console.log(`FAIL yaml: ${doc.errors.map((e) => e.message).join('; ')}`);
    failures++;
    continue;
  }
  const obj = doc.toJS();
  if (obj == null) {
    continue;
  }
  count++;
  const name = `${obj.apiVersion} ${obj.kind} ${obj.metadata && obj.metadata.name}`;
  const file = modelModule(String(obj.apiVersion), String(obj.kind));
  if (!fs.existsSync(path.join(modules, file))) {
    console.log(`FAIL ${name}: no schema for this apiVersion/kind (looked for ${file})`);
    failures++;
    continue;
  }
  const Model = (await load(file))[obj.kind];
  try {
    new Model(obj).validate();
    console.log(`ok ${name}`);
  } catch (e) {
    const details = (e.errors || []).map((err) => `${err.instancePath || '/'} ${err.message}`).join('; ');
    console.log(`FAIL ${name}: ${details || e.message}`);
    failures++;
  }
}
console.log(`${count} object(s), ${failures} invalid`);
process.exit(failures > 0 || count === 0 ? 1 : 0);
