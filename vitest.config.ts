import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

// Two projects: `node` (unit + integration in Node) and `workers` (inside workerd through
// @cloudflare/vitest-pool-workers, with the R2 binding from wrangler.toml).
export default defineConfig({
  test: {
    // The edge logs one JSON line per inference request (tests/workers/metrics.test.ts checks
    // them); thousands of them would bury the test output.
    onConsoleLog: (log: string) => !log.startsWith('{"event":"inference"'),
    projects: [
      {
        test: {
          name: 'node',
          include: ['tests/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['tests/node/global-setup.ts'],
          pool: 'forks',
        },
      },
      {
        plugins: [
          cloudflareTest({
            main: './functions/index.ts',
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                // The request log line is written after the response, in the request's waitUntil,
                // which most tests never wait for: a line still on its way to the test runner when
                // a file's environment closes fails the run. tests/workers/metrics.test.ts turns
                // it on for its own requests and waits for them.
                REQUEST_LOG: 'off',
                ADMIN_TOKEN: 'test-admin-token',
                FEEDBACK_TOKEN: 'test-feedback-token',
                REVIEWER_TOKEN: 'test-reviewer-token',
              },
            },
          }),
        ],
        test: {
          name: 'workers',
          include: ['tests/workers/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['tests/workers/global-setup.ts'],
        },
      },
    ],
  },
});
