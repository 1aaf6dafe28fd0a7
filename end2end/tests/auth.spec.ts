import { expect, test } from '@playwright/test';

import { signInAtProvider } from './sign-in';

// Sign-in through the local OpenID provider (end2end/oidc/provider.mjs), in Chromium.

test('sign in, see your name, sign out, and protected pages ask again', async ({ page, baseURL }) => {
  const problems: string[] = [];
  // CSP violations and failed scripts show up as console errors. Only
  // Sepal's count: the dev provider has no favicon, for one.
  page.on('console', (message) => {
    if (message.type() === 'error' && message.location().url.startsWith(baseURL!)) {
      problems.push(`${message.location().url}: ${message.text()}`);
    }
  });

  await page.goto('/account');
  await signInAtProvider(page, 'alice');
  await expect(page).toHaveURL(`${baseURL}/account`);
  await expect(page.locator('header .who')).toHaveText('Alice Liddell');
  await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('account.png'), fullPage: true });

  // The form's island still hydrates under the CSP, on a signed-in page:
  // its button turns pending on submit (stopped here before it is sent).
  await page.goto('/predict');
  await page.waitForLoadState('networkidle');
  await page.evaluate(() =>
    document.querySelector('form.predict-form')!.addEventListener('submit', (e) => e.preventDefault()),
  );
  await page.getByRole('button', { name: 'Predict' }).click();
  await expect(page.getByRole('button', { name: 'Predicting…' })).toBeDisabled();
  await expect(page.locator('header .who')).toHaveText('Alice Liddell');
  await page.goto('/');

  await page.getByRole('button', { name: 'Sign out' }).click();
  // The provider asks to end its own session too, then sends the browser back.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`${baseURL}/`);
  await expect(page.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();

  await page.goto('/account');
  await expect(page).toHaveURL(/:\d+\/interaction\//);
  expect(problems).toEqual([]);
});

test('someone outside the allowed groups gets the no-access page, not a session', async ({ page, baseURL }) => {
  await page.goto('/auth/login');
  await signInAtProvider(page, 'mallory');
  await expect(page).toHaveURL(`${baseURL}/no-access`);
  await expect(page.getByRole('heading', { name: 'You do not have access to Sepal' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'Sign in', exact: true })).toBeVisible();
});
