import { Instance } from '@stepwise/core';
import { describe, expect, it } from 'vitest';
import { createUiApp } from '../src/index.js';

describe('ui app', () => {
  it('answers /healthz and serves the built front end at the root and under a base path', async () => {
    const instance = Instance.ephemeral();
    const app = createUiApp({ instance });
    expect(await (await app.fetch(new Request('http://x/healthz'))).json()).toEqual({ ok: true });
    const page = await app.fetch(new Request('http://x/runs/abc'));
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="app">');
    // Built with a relative base: a page at /runs/abc asks for /runs/assets/<hashed>.js, the same file.
    const script = (await (await app.fetch(new Request('http://x/'))).text()).match(
      /src="\.\/(assets\/[^"]+\.js)"/,
    )?.[1];
    expect(script).toBeDefined();
    const nested = await app.fetch(new Request(`http://x/runs/${script}`));
    expect(nested.headers.get('content-type')).toContain('text/javascript');
    expect(nested.headers.get('cache-control')).toContain('immutable');
    const mounted = createUiApp({ instance, basePath: '/stepwise' });
    expect((await mounted.fetch(new Request('http://x/stepwise/healthz'))).status).toBe(200);
    expect((await mounted.fetch(new Request('http://x/stepwise/api/meta'))).status).toBe(200);
    await instance.close();
  });
});
