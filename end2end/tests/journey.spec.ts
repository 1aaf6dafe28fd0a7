import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Browser, type Page } from '@playwright/test';

import { signIn } from './sign-in';

// What a person does with Sepal, in Chromium: predict, find the record in
// the history, export it, delete it; with JavaScript and without.

/** A signed-in browser of its own (cookies are per context). */
async function newUser(browser: Browser, user: string, javaScriptEnabled = true) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await signIn(page, user, '/history');
  return page;
}

async function historyCount(page: Page): Promise<number> {
  await page.goto('/history');
  const text = await page.getByTestId('history-count').textContent();
  return Number(text?.match(/\d+/)?.[0]);
}

async function journey(page: Page, shots: string, javaScript: boolean) {
  const before = await historyCount(page);
  // The browser posts the form itself, with or without JavaScript, and the
  // server sends it to the result.
  const posts: string[] = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/fn/predict')) posts.push(request.resourceType());
  });

  await page.goto('/predict');
  await page.getByRole('link', { name: 'Typical Iris versicolor' }).click();
  await expect(page.getByLabel('Petal length (cm)')).toHaveValue('4.1');
  const button = page.getByRole('button', { name: 'Predict' });
  if (javaScript) {
    // The island hydrated: submitting turns the button into a pending state.
    // (This submit is stopped after the island has seen it; the real one follows.)
    await page.waitForLoadState('networkidle');
    await page.evaluate(() =>
      document.querySelector('form.predict-form')!.addEventListener('submit', (e) => e.preventDefault()),
    );
    await button.click();
    await expect(page.getByRole('button', { name: 'Predicting…' })).toBeDisabled();
    await page.reload();
    await expect(button).toBeEnabled();
  }
  await button.click();

  await expect(page).toHaveURL(/\/predict\?result=[0-9A-Z]{26}$/);
  expect(posts).toEqual(['document']);
  const result = page.getByTestId('result');
  await expect(result.getByTestId('answer')).toHaveText('Iris versicolor');
  await expect(result.getByText(/^\d+\.\d %$/).first()).toBeVisible();
  await expect(result.getByTestId('plot')).toBeVisible();
  await expect(result.locator('svg circle.pt')).toHaveCount(150);
  await expect(result.locator('svg circle.you')).toHaveCount(1);
  await page.screenshot({ path: test.info().outputPath(`${shots}-result.png`), fullPage: true });
  const id = new URL(page.url()).searchParams.get('result')!;

  // The history shows it first, and one more record than before.
  expect(await historyCount(page)).toBe(before + 1);
  const firstRow = page.getByTestId('history-table').locator('tbody tr').first();
  await expect(firstRow).toContainText('Iris versicolor');
  await firstRow.getByRole('link').click();
  await expect(page).toHaveURL(new RegExp(`/history/${id}$`));
  await expect(page.getByTestId('record')).toContainText(id);
  await expect(page.getByTestId('record')).toContainText('4.1 cm');

  // The CSV export holds it.
  const csv = await page.request.get('/history/export.csv');
  expect(csv.status()).toBe(200);
  expect(csv.headers()['content-type']).toContain('text/csv');
  const lines = (await csv.text()).trim().split('\n');
  expect(lines[0]).toContain('id,created_at,class');
  expect(lines.some((line) => line.startsWith(`${id},`) && line.includes('versicolor'))).toBe(true);
  const json = await page.request.get('/history/export.json');
  const records = await json.json();
  expect(records.length).toBe(before + 1);
  expect(records[0]).toMatchObject({ id, class: 'versicolor', source: 'web', inputs: { petal_length: 4.1 } });

  // Delete it from its own page: it is gone from the history and by URL.
  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/history$/);
  expect(await historyCount(page)).toBe(before);
  const gone = await page.goto(`/history/${id}`);
  expect(gone?.status()).toBe(404);
}

test('predict, see the species and the plot, find, export and delete it', async ({ browser }) => {
  const page = await newUser(browser, 'alice');
  await journey(page, 'js', true);
});

test('the same journey works with JavaScript disabled', async ({ browser }) => {
  const page = await newUser(browser, 'bob', false);
  await journey(page, 'no-js', false);
});

test('invalid input names the field and stores nothing', async ({ browser }) => {
  const page = await newUser(browser, 'ada');
  const before = await historyCount(page);
  await page.goto('/predict');
  await page.getByLabel('Sepal length (cm)').fill('5.1');
  await page.getByLabel('Sepal width (cm)').fill('abc');
  await page.getByLabel('Petal length (cm)').fill('-2');
  await page.getByLabel('Petal width (cm)').fill('0.2');
  await page.getByRole('button', { name: 'Predict' }).click();

  const errors = page.getByTestId('form-errors');
  await expect(errors).toContainText('Sepal width: must be a number');
  await expect(errors).toContainText('Petal length: must be between 0.1 and 15 cm; got -2');
  await expect(errors).not.toContainText('Sepal length');
  await expect(page.getByLabel('Petal length (cm)')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByLabel('Sepal length (cm)')).toHaveValue('5.1');
  expect(await historyCount(page)).toBe(before);
});

test("another user cannot see or delete a user's record", async ({ browser }) => {
  const alice = await newUser(browser, 'alice');
  await alice.goto('/predict');
  await alice.getByRole('link', { name: 'Typical Iris setosa' }).click();
  await alice.getByRole('button', { name: 'Predict' }).click();
  await expect(alice).toHaveURL(/result=/);
  const id = new URL(alice.url()).searchParams.get('result')!;

  const bob = await newUser(browser, 'bob');
  for (const path of [`/history/${id}`, `/predict?result=${id}`]) {
    const response = await bob.goto(path);
    expect(response?.status(), path).toBe(404);
  }
  const csv = await (await bob.request.get('/history/export.csv')).text();
  expect(csv).not.toContain(id);
  const deleted = await bob.request.post('/fn/delete_prediction', {
    form: { id },
    headers: { Origin: new URL(bob.url()).origin, Accept: 'application/json' },
  });
  expect(deleted.status()).toBe(404);
  const still = await alice.goto(`/history/${id}`);
  expect(still?.status()).toBe(200);
});

const pages = ['/', '/predict', '/predict?sepal_length=abc', '/history', '/history/delete-all', '/model', '/account', '/no-access', '/nowhere'];

/** Checks one page with axe and keeps screenshots at phone and desktop width. */
async function checkPage(page: Page, path: string, name: string) {
  await page.goto(path);
  const results = await new AxeBuilder({ page }).analyze();
  const serious = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(', ')})`), path).toEqual([]);
  for (const [width, label] of [[390, 'phone'], [1280, 'desktop']] as const) {
    await page.setViewportSize({ width, height: 844 });
    await page.screenshot({ path: test.info().outputPath(`${name}-${label}.png`), fullPage: true });
  }
}

// One test a page, each in its own time budget (a loaded CI machine ran the
// whole sweep out of 30 s once). `grace` is theirs alone, so their records
// never race another test's history count.
for (const path of pages) {
  const name = path.replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '') || 'home';
  test(`${path}: no serious accessibility violations, screenshots at phone and desktop width`, async ({ browser }) => {
    const page = await newUser(browser, 'grace');
    // A record, so the history has content.
    await predictOnce(page);
    await checkPage(page, path, name);
  });
}

test('result and record pages: no serious accessibility violations, screenshots', async ({ browser }) => {
  const page = await newUser(browser, 'grace');
  const id = await predictOnce(page);
  await checkPage(page, new URL(page.url()).pathname + new URL(page.url()).search, 'result');
  await checkPage(page, `/history/${id}`, 'record');
});

/** Predicts from the form and returns the new record's id. */
async function predictOnce(page: Page): Promise<string> {
  await page.goto('/predict?sepal_length=6.8&sepal_width=3&petal_length=5.5&petal_width=2.1');
  await page.getByRole('button', { name: 'Predict' }).click();
  await expect(page).toHaveURL(/result=/);
  return new URL(page.url()).searchParams.get('result')!;
}
