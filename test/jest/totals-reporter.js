// Prints jest's totals once more as a plain line CI can read:
//   tests: N passed, M failed[, K skipped]
// With KRILL_STRICT_SKIPS=1 (make test), a skipped test that
// test/jest/allowed-skips.js does not list counts as failed, and is named.
const { relative } = require('node:path');

class TotalsReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const skipped = [];
    for (const file of results.testResults) {
      for (const t of file.testResults) {
        if (t.status === 'pending' || t.status === 'todo' || t.status === 'skipped') {
          skipped.push({ file: relative(this.rootDir, file.testFilePath), name: t.fullName ?? [...t.ancestorTitles, t.title].join(' ') });
        }
      }
    }
    let unlisted = [];
    if (process.env.KRILL_STRICT_SKIPS === '1') {
      const allowed = require('./allowed-skips.js');
      for (const a of allowed) {
        if (typeof a.file !== 'string' || !(typeof a.test === 'string' || a.test instanceof RegExp) || typeof a.why !== 'string' || a.why.trim() === '') {
          throw new Error(`test/jest/allowed-skips.js: every entry needs file, test and why: ${JSON.stringify(a)}`);
        }
      }
      const listed = (s) => allowed.some((a) => a.file === s.file && (a.test instanceof RegExp ? a.test.test(s.name) : a.test === s.name));
      unlisted = skipped.filter((s) => !listed(s));
      if (unlisted.length > 0) {
        const lines = unlisted.map((s) => `  ${s.file}: ${s.name}`);
        process.stderr.write(`\n${unlisted.length} test(s) skipped without a reason in test/jest/allowed-skips.js (counted as failed):\n${lines.join('\n')}\n`);
      }
    }
    // A file that fails outside any test (a hook, a syntax error, a leak) counts as a failure.
    const brokenFiles = results.testResults.filter((r) => r.testExecError || (r.failureMessage && r.numFailingTests === 0)).length;
    const failed = results.numFailedTests + brokenFiles + unlisted.length;
    const skippedOk = skipped.length - unlisted.length;
    let line = `tests: ${results.numPassedTests} passed, ${failed} failed`;
    if (skippedOk > 0) line += `, ${skippedOk} skipped`;
    this.failed = failed;
    // hack/run-tests prints it again as the very last line of the run.
    if (process.env.KRILL_TOTALS_FILE) require('node:fs').writeFileSync(process.env.KRILL_TOTALS_FILE, `${line}\n`);
    else process.stdout.write(`\n${line}\n`);
  }

  // Makes jest exit non-zero when unlisted skips are the only failures.
  getLastError() {
    if (this.failed > 0) return new Error('tests failed');
    return undefined;
  }
}
module.exports = TotalsReporter;
