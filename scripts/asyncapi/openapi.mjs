// Validates an OpenAPI document with @readme/openapi-parser (OpenAPI 3.1 against its official
// JSON Schema, references resolved) and prints the result; exits 1 when it is not valid, 2 on
// bad usage.
//
//   node openapi.mjs FILE.json
//
// Why this validator: it checks a 3.1 document against the official OpenAPI 3.1 JSON Schema
// and resolves every reference (a dangling `$ref` is an error), it is actively maintained, and
// it installs with the AsyncAPI parser in the same pinned `npm ci` (no second toolchain).
import { readFileSync } from 'node:fs';
import { validate } from '@readme/openapi-parser';

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  console.error('usage: node openapi.mjs FILE.json');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(file, 'utf8'));
const result = await validate(doc);
for (const e of result.errors ?? []) {
  console.log(`${file}: error: ${e.message}`);
}
for (const w of result.warnings ?? []) {
  console.log(`${file}: warning: ${w.message}`);
}
console.log(`${file}: ${result.valid ? 'valid' : 'not valid'} (OpenAPI ${doc.openapi})`);
process.exit(result.valid ? 0 : 1);
