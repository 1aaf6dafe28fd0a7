import { expect, test } from '@playwright/test';

import { signIn } from './sign-in';

test.describe('server rendering, with JavaScript disabled', () => {
  test.use({ javaScriptEnabled: false });

  test('the start page is complete HTML from the server', async ({ page }) => {
    const response = await page.goto('/');
    expect(response?.status()).toBe(200);
    await expect(page).toHaveTitle('Sepal');
    await expect(page.getByRole('link', { name: 'Sepal' })).toBeVisible();
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Iris species');
    await expect(page.getByText('length and width of its sepals and petals')).toBeVisible();
    await expect(page.getByRole('link', { name: 'Sign in to predict' })).toBeVisible();
  });

  test('an unknown address answers 404 with a way back', async ({ page }) => {
    const response = await page.goto('/no/such/page');
    expect(response?.status()).toBe(404);
    await expect(page).toHaveTitle('Page not found · Sepal');
    await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
    await page.getByRole('link', { name: 'Go to the start page' }).click();
    await expect(page).toHaveURL('/');
  });
});

test.describe('static files and bad requests', () => {
  test('the bundle is served precompressed with brotli and gzip', async ({ request }) => {
    for (const [accept, encoding] of [
      ['br', 'br'],
      ['gzip', 'gzip'],
    ]) {
      for (const file of ['/pkg/sepal.wasm', '/pkg/sepal.js', '/pkg/sepal.css']) {
        const response = await request.get(file, { headers: { 'accept-encoding': accept } });
        expect(response.status(), file).toBe(200);
        expect(response.headers()['content-encoding'], `${file} with ${accept}`).toBe(encoding);
      }
    }
  });

  test('a malformed server-function call is a clear 400, not a crash', async ({ request, baseURL }) => {
    // `prediction` takes an id, which this body does not give.
    const response = await request.post('/fn/prediction', {
      // Sent as Sepal's own page would: other origins are refused (auth.spec.ts).
      headers: { 'content-type': 'application/json', origin: baseURL! },
      data: '{"not json',
    });
    expect(response.status()).toBe(400);
    const body = await response.json();
    expect(Object.keys(body)).toEqual(['BadRequest']);
    // The server is still fine afterwards.
    expect((await request.get('/healthz')).status()).toBe(200);
  });
});

test('a first visit to /predict transfers at most 110 KB of JS and WASM', async ({ browser }) => {
  // Signed in in one context; measured in another with the same cookies and
  // an empty HTTP cache.
  const signingIn = await browser.newContext();
  await signIn(await signingIn.newPage(), 'alice', '/account');
  const context = await browser.newContext({ storageState: await signingIn.storageState() });
  const page = await context.newPage();
  // Each finished request is measured asynchronously; all are awaited below.
  const measured: Promise<{ url: string; encoding: string; bytes: number }>[] = [];
  page.on('requestfinished', (request) => {
    if (!/\.(js|wasm)$/.test(new URL(request.url()).pathname)) return;
    measured.push(
      (async () => ({
        url: request.url(),
        encoding: (await (await request.response())?.headerValue('content-encoding')) ?? 'identity',
        bytes: (await request.sizes()).responseBodySize,
      }))(),
    );
  });
  await page.goto('/predict');
  await expect(page.getByRole('button', { name: 'Predict' })).toBeVisible();
  await page.waitForLoadState('networkidle');
  const transfers = await Promise.all(measured);

  expect(transfers.map((t) => new URL(t.url).pathname).sort()).toEqual([
    '/pkg/sepal.js',
    '/pkg/sepal.wasm',
  ]);
  for (const t of transfers) expect(t.encoding, t.url).toBe('br');
  const total = transfers.reduce((sum, t) => sum + t.bytes, 0);
  console.log(`first-load JS+WASM: ${total} bytes (${transfers.map((t) => `${t.url}: ${t.bytes}`).join(', ')})`);
  expect(total).toBeLessThanOrEqual(110_000);
});
