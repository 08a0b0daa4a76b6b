/** What op, input, output, step, alias and pipeline names may be: they appear in step keys, refs and queue keys. */
export const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
