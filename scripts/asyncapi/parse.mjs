// Parses an AsyncAPI document with the official parser (@asyncapi/parser) and prints every
// diagnostic; exits 1 on any of error severity, 2 on bad usage.
//
//   node parse.mjs FILE.json
//
// The parser keeps a payload whose schemaFormat it has no parser for as it is, without
// checking it: each payload given as JSON Schema 2020-12 is therefore also compiled here with
// Ajv's 2020-12 validator (which checks it against the meta-schema and resolves its
// references), and a schema that does not compile is an error.
import { readFileSync } from 'node:fs';
import { Parser, DiagnosticSeverity } from '@asyncapi/parser';
import Ajv2020 from 'ajv/dist/2020.js';

const SCHEMA_2020 = 'application/schema+json;version=draft-2020-12';
const NAMES = ['error', 'warning', 'information', 'hint'];

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: node parse.mjs FILE.json');
  process.exit(2);
}
const text = readFileSync(file, 'utf8');
const { document, diagnostics } = await new Parser().parse(text);
let errors = 0;
for (const d of diagnostics) {
  if (d.severity === DiagnosticSeverity.Error) errors += 1;
  console.log(`${file}: ${NAMES[d.severity] ?? d.severity}: ${d.code} at /${d.path.join('/')}: ${d.message}`);
}
if (document === undefined && errors === 0) {
  console.log(`${file}: error: the parser returned no document`);
  errors += 1;
}
errors += compile2020Payloads(file, JSON.parse(text));
console.log(`${file}: ${errors === 0 ? 'valid' : `${errors} error(s)`} (${diagnostics.length} diagnostic(s))`);
process.exit(errors === 0 ? 0 : 1);

// Compiles every 2020-12 multi-format schema of components/schemas and of the messages'
// payloads; references into the document (`#/components/...`) resolve against the document.
function compile2020Payloads(file, doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const { id: _documentId, ...rest } = doc; // AsyncAPI's `id`: not a JSON Schema keyword
  ajv.addSchema(stripIds(rest), 'document');
  let errors = 0;
  const found = [];
  for (const [name, s] of Object.entries(doc.components?.schemas ?? {})) {
    found.push([`/components/schemas/${name}`, s]);
  }
  for (const [name, m] of Object.entries(doc.components?.messages ?? {})) {
    found.push([`/components/messages/${name}/payload`, m.payload]);
  }
  for (const [path, s] of found) {
    if (s?.schemaFormat !== SCHEMA_2020) continue;
    try {
      ajv.compile({ $ref: `document#${path}/schema` });
    } catch (e) {
      errors += 1;
      console.log(`${file}: error: the JSON Schema 2020-12 at ${path}/schema does not compile: ${e.message}`);
    }
  }
  return errors;
}

// The document without the `$id`s of embedded schemas: Ajv would register each under its own
// id, twice for schemas embedded twice; here they are reached by their place in the document.
function stripIds(v) {
  if (Array.isArray(v)) return v.map(stripIds);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== '$id').map(([k, x]) => [k, stripIds(x)]));
}
