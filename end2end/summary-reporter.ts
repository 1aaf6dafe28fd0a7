import type { FullResult, Reporter, TestCase, TestResult } from '@playwright/test/reporter';

// Ends the run with one plain line that CI reads: "e2e: N passed, N failed, N skipped".
export default class SummaryReporter implements Reporter {
  private passed = 0;
  private failed = 0;
  private skipped = 0;

  onTestEnd(test: TestCase, result: TestResult) {
    if (result.status === 'skipped') this.skipped++;
    else if (result.status === test.expectedStatus) this.passed++;
    else if (result.retry === test.retries) this.failed++;
  }

  onEnd(_result: FullResult) {
    console.log(`e2e: ${this.passed} passed, ${this.failed} failed, ${this.skipped} skipped`);
  }
}
