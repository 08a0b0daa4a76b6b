// Writes stepwise.yaml from the chart's template, with the connection URLs taken from the environment (Secrets),
// so no password sits in a ConfigMap. JSON strings are YAML strings, so any URL is written safely.
// Usage: node render-config.mjs TEMPLATE OUT
import { readFileSync, writeFileSync } from 'node:fs';

const [template, out] = process.argv.slice(2);
const placeholders = { __STEPWISE_POSTGRES_URL__: 'STEPWISE_POSTGRES_URL', __REDIS_URL__: 'REDIS_URL' };
let text = readFileSync(template, 'utf8');
for (const [token, name] of Object.entries(placeholders)) {
  if (!text.includes(token)) continue;
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`stepwise config: ${name} is empty; set the chart's url or existingSecret for it\n`);
    process.exit(2);
  }
  text = text.replaceAll(token, JSON.stringify(value));
}
writeFileSync(out, text, { mode: 0o600 });
process.stdout.write(`stepwise config: wrote ${out}\n`);
