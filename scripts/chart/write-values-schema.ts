/** Writes charts/stepwise/values.schema.json from scripts/chart/values-schema.ts (the one source of the values). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { valuesJsonSchema } from './values-schema.js';

export const VALUES_SCHEMA_PATH = fileURLToPath(new URL('../../charts/stepwise/values.schema.json', import.meta.url));

export function renderValuesSchema(): string {
  return `${JSON.stringify(valuesJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(VALUES_SCHEMA_PATH, renderValuesSchema());
  process.stdout.write(`wrote ${VALUES_SCHEMA_PATH}\n`);
}
