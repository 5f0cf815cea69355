// Parse an AsyncAPI document with the official parser; exit 1 if it reports any error, or if a
// message lacks an example or has one that its payload schema or its data schema rejects.
//
// Usage: node validate.mjs [path]   (default: ../asyncapi.json beside this folder)
// Prints every diagnostic (errors, then warnings and the rest) with its JSON path. Agencies
// that subscribe to our topics run this parser, so an error here is an error for them.
// AsyncAPI 3 parsers do not check examples against payloads (2.x ones did), so Ajv, the JSON
// Schema validator the parser itself uses, checks each one against the resolved payload, and
// its data against the standalone JSON Schema (2020-12) in schemas/ that dataschema names.
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const path = resolve(process.argv[2] ?? resolve(here, '..', 'asyncapi.json'));
const shown = process.argv[2] ?? 'libs/contracts/asyncapi.json';
const text = await readFile(path, 'utf8');

// The contract must be self-contained: a subscriber may have no network, and the parser would
// otherwise fetch any http(s) or file $ref it meets. Refuse those before parsing.
const external = [];
(function walk(node, at) {
  if (Array.isArray(node)) {
    node.forEach((item, i) => walk(item, `${at}/${i}`));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string' && !value.startsWith('#')) {
        external.push(`${at}/$ref -> ${value}`);
      }
      walk(value, `${at}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`);
    }
  }
})(JSON.parse(text), '#');
if (external.length > 0) {
  for (const where of external) console.error(`error  external $ref (must be local): ${where}`);
  process.exit(1);
}

const { document, diagnostics } = await new Parser().parse(text, { source: path });

const names = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};
const sorted = [...diagnostics].sort((a, b) => a.severity - b.severity);
for (const d of sorted) {
  const at = d.path.length > 0 ? `#/${d.path.join('/')}` : '#';
  console.log(`${names[d.severity] ?? d.severity}  ${d.code}  ${at}  ${d.message}`);
}
let errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
if (document !== undefined) {
  // strict: false lets the parser's x-parser-* annotations through as unknown keywords.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  // The standalone schemas are plain JSON Schema: compile them strictly.
  const ajv2020 = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv2020);
  const report = (code, where, problems) => {
    for (const e of problems) {
      console.log(`error  ${code}  ${where}${e.instancePath}  ${e.message}`);
    }
    errors += problems.length;
  };
  for (const message of document.allMessages().all()) {
    const examples = message.examples().all();
    if (examples.length === 0) {
      console.log(`error  message-example  #/components/messages/${message.id()}  has no example`);
      errors += 1;
    }
    const validate = ajv.compile(message.payload().json());
    const standalone = join(dirname(path), 'schemas', `${message.name()}.json`);
    const standaloneText = await readFile(standalone, 'utf8').catch(() => undefined);
    if (standaloneText === undefined) {
      console.log(`error  message-schema  #/components/messages/${message.id()}  no ${standalone}`);
      errors += 1;
    }
    const validateData = ajv2020.compile(JSON.parse(standaloneText ?? '{}'));
    examples.forEach((example, i) => {
      const where = `#/components/messages/${message.id()}/examples/${i}/payload`;
      if (!validate(example.payload())) report('message-example', where, validate.errors);
      if (!validateData(example.payload()?.data)) {
        report('message-example-dataschema', `${where}/data`, validateData.errors);
      }
    });
  }
}

const count = (severity) => diagnostics.filter((d) => d.severity === severity).length;
const checked = document === undefined ? 0 : document.allMessages().length;
const warnings = count(DiagnosticSeverity.Warning);
const infos = count(DiagnosticSeverity.Information);
const hints = count(DiagnosticSeverity.Hint);
console.log(
  `${shown}: AsyncAPI ${document?.version() ?? '?'}, ${checked} message(s) and their examples, ` +
    `${errors} error(s), ${warnings} warning(s), ${infos} info, ${hints} hint(s)`,
);
process.exit(errors > 0 || document === undefined ? 1 : 0);
