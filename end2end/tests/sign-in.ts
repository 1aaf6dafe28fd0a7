import { expect, type Page } from '@playwright/test';

/** Signs in on the local provider's page, where a protected page sent the browser. */
export async function signInAtProvider(page: Page, user: string) {
  await expect(page).toHaveURL(/:\d+\/interaction\//);
  await page.getByLabel('User name').fill(user);
  await page.getByLabel('Password').fill('sepal-dev');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Opens the protected `path`, signs in as `user` and lands back on it. */
export async function signIn(page: Page, user: string, path: string) {
  await page.goto(path);
  await signInAtProvider(page, user);
  await expect(page).toHaveURL(new RegExp(`${path.replace('?', '\\?')}$`));
}
