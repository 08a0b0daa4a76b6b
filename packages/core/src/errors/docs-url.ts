/**
 * Where the docs live for a user of the installed packages: docs/ does not ship in the tarballs, so messages and
 * help name these URLs, never a repository path.
 */
export const DOCS_URL = 'https://github.com/stepwise/stepwise/blob/main/docs';

/** The URL of a guide under docs/, e.g. `docsUrl('scheduler.md')`. */
export function docsUrl(page: string): string {
  return `${DOCS_URL}/${page}`;
}

/** The troubleshooting entry of an error code (docs/errors.md has one anchor per code, lower case). */
export function troubleshootingUrl(code: string): string {
  return `${DOCS_URL}/errors.md#${code.toLowerCase()}`;
}
