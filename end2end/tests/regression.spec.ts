import AxeBuilder from '@axe-core/playwright';
import { expect, test } from '@playwright/test';

import { regressionURL } from '../playwright.config';
import { signIn } from './sign-in';

// A regressor, as a person uses it in Chromium: models/diabetes, served by
// the second server of playwright.config.ts. The answer is a number with
// the training data's range, plotted against the feature it follows most.
test.use({ baseURL: regressionURL });

test('predict a value, see it plotted, find, export and delete it', async ({ page }) => {
  await signIn(page, 'ada', '/predict');
  await expect(page.getByRole('heading', { name: 'Predict: Diabetes' })).toBeVisible();
  await page.getByRole('link', { name: 'High (90th percentile)' }).click();
  await expect(page.getByLabel('Body mass index (kg/m²)')).not.toHaveValue('');
  await page.getByRole('button', { name: 'Predict' }).click();

  await expect(page).toHaveURL(/\/predict\?result=[0-9A-Z]{26}$/);
  const result = page.getByTestId('result');
  await expect(result).toContainText('Disease progression after one year:');
  const value = Number(await result.getByTestId('answer').textContent());
  expect(value).toBeGreaterThan(25);
  expect(value).toBeLessThan(346);
  await expect(result).toContainText('In the training data it ranged from 25 to 346.');
  await expect(result.getByText('Probability of each class')).toHaveCount(0);
  await expect(result.locator('svg circle.pt')).toHaveCount(442);
  await expect(result.locator('svg circle.you')).toHaveCount(1);
  await expect(result.locator('svg .you-label')).toHaveText('Your prediction');
  await page.screenshot({ path: test.info().outputPath('regression-result.png'), fullPage: true });
  const axe = await new AxeBuilder({ page }).analyze();
  expect(axe.violations).toEqual([]);
  const id = new URL(page.url()).searchParams.get('result')!;

  await page.goto('/history');
  await expect(page.getByRole('columnheader', { name: 'Disease progression after one year' })).toBeVisible();
  await expect(page.getByLabel('Class')).toHaveCount(0);
  const firstRow = page.getByTestId('history-table').locator('tbody tr').first();
  await expect(firstRow).toContainText(String(value));
  await page.screenshot({ path: test.info().outputPath('regression-history.png'), fullPage: true });
  await firstRow.getByRole('link').click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Disease progression after one year: ${value}`);

  const records = await (await page.request.get('/history/export.json')).json();
  expect(records[0]).toMatchObject({ id, source: 'web' });
  expect(Math.abs(records[0].value - value)).toBeLessThan(0.05);
  expect(records[0].class).toBeUndefined();
  const csv = (await (await page.request.get('/history/export.csv')).text()).split('\n');
  expect(csv[0]).toMatch(/^id,created_at,value,age_years,/);

  await page.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL(/\/history$/);
  expect((await page.goto(`/history/${id}`))?.status()).toBe(404);

  await page.goto('/model');
  await expect(page.getByTestId('predicts')).toContainText('Disease progression after one year, a number');
  await expect(page.getByTestId('metrics')).toContainText('R² 0.799');
});
