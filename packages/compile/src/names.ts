import { createHash } from 'node:crypto';

function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Airflow's task id rule (airflow/utils/helpers.py validate_key, ASCII as docs/deploy/airflow.md says): `^[A-Za-z0-9_.-]+$`. */
const AIRFLOW_KEY = /^[A-Za-z0-9_.-]{1,250}$/;

/**
 * The Airflow task id of a step key: the key itself where Airflow takes it, else its other characters replaced
 * by `_`, cut to fit 250 characters, and a short hash of the key appended (so two changed keys stay apart).
 */
export function airflowTaskId(stepKey: string): string {
  if (AIRFLOW_KEY.test(stepKey)) return stepKey;
  return `${stepKey.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 240)}__${shortHash(stepKey)}`;
}

/** Argo's rule for task and template names (workflow/validate: workflowFieldNameFmt, max 128). */
const ARGO_NAME = /^[a-zA-Z0-9][-a-zA-Z0-9]{0,127}$/;

/** The Argo DAG task name of a step key: the key where Argo takes it, else made valid with a short hash. */
export function argoTaskName(stepKey: string): string {
  if (ARGO_NAME.test(stepKey)) return stepKey;
  const base = stepKey.replace(/[^-a-zA-Z0-9]/g, '-').replace(/^-+/, '');
  return `${(base || 's').slice(0, 118)}-${shortHash(stepKey)}`;
}

/** A DNS-1123 label (Kubernetes object and pod names): lowercase, digits, `-`, at most `max` characters. */
export function dnsLabel(text: string, max = 63): string {
  const base = text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
  if (base === text && base.length <= max) return base;
  const hash = shortHash(text, 6);
  return `${(base || 's').slice(0, max - hash.length - 1).replace(/-+$/, '')}-${hash}`;
}

export { shortHash };
