import { UiRequestError } from '../errors.js';

/** The request's JSON body as an object (an empty body is `{}`); malformed JSON or a non-object is a 400. */
export async function readJsonObject(request: Request, what: string): Promise<Record<string, unknown>> {
  const text = await request.text();
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UiRequestError('INVALID_JSON', `the body of ${what} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UiRequestError('BAD_REQUEST', `the body of ${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** An optional string field of a body; another type is a 400 naming the field. */
export function optionalString(body: Record<string, unknown>, field: string, what: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new UiRequestError('BAD_REQUEST', `${what}: '${field}' must be a string`);
  return value;
}
