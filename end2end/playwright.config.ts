import { defineConfig } from '@playwright/test';

// Tests run against the server in SEPAL_BIN (`make e2e`: the one `make unit`
// built; by default the release build) and the site in target/site, started
// here on its own port so a `make dev` on 3000 can keep running.
const sepal = process.env.SEPAL_BIN ?? '../target/release/sepal';
const port = Number(process.env.SEPAL_E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
// A second server on the next port serves the regression model (models/diabetes).
export const regressionURL = `http://127.0.0.1:${port + 1}`;
// The local OpenID provider, on its own port too (make dev's uses 4000).
const oidcPort = Number(process.env.SEPAL_E2E_OIDC_PORT ?? 4100);
const issuer = `http://127.0.0.1:${oidcPort}`;

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  fullyParallel: true,
  workers: 2,
  forbidOnly: !!process.env.CI,
  reporter: [['list'], ['./summary-reporter.ts']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      // Debian's Chromium: Playwright cannot download its own browser here.
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: [
    {
      command: 'node oidc/provider.mjs',
      url: `${issuer}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
      env: {
        OIDC_PORT: String(oidcPort),
        OIDC_KEY_FILE: '../target/oidc/e2e-keys.json',
        OIDC_APP_URLS: `${baseURL},${regressionURL}`,
      },
    },
    {
      command: sepal,
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: '../target/site',
        SEPAL_MODEL_DIR: '../models/iris',
        SEPAL_LOG_FORMAT: 'json',
        SEPAL_STORE: 'sqlite://../target/e2e/sepal.db',
        SEPAL_PUBLIC_URL: baseURL,
        SEPAL_OIDC_ISSUER: issuer,
        SEPAL_ALLOWED_GROUPS: 'sepal-users',
      },
    },
    {
      command: sepal,
      url: `${regressionURL}/healthz`,
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
      env: {
        LEPTOS_SITE_ADDR: regressionURL.replace('http://', ''),
        LEPTOS_SITE_ROOT: '../target/site',
        SEPAL_MODEL_DIR: '../models/diabetes',
        SEPAL_LOG_FORMAT: 'json',
        SEPAL_STORE: 'sqlite://../target/e2e/diabetes.db',
        SEPAL_PUBLIC_URL: regressionURL,
        SEPAL_OIDC_ISSUER: issuer,
        SEPAL_ALLOWED_GROUPS: 'sepal-users',
      },
    },
  ],
});
