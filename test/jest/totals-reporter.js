// Prints jest's totals once more as a plain line CI can read:
//   tests: N passed, M failed[, K skipped]
class TotalsReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    // A file that fails outside any test (a hook, a syntax error, a leak) counts as a failure.
    const brokenFiles = results.testResults.filter((r) => r.testExecError || (r.failureMessage && r.numFailingTests === 0)).length;
    const failed = results.numFailedTests + brokenFiles;
    let line = `tests: ${results.numPassedTests} passed, ${failed} failed`;
    if (skipped > 0) line += `, ${skipped} skipped`;
    // hack/run-tests prints it again as the very last line of the run.
    if (process.env.KRILL_TOTALS_FILE) require('node:fs').writeFileSync(process.env.KRILL_TOTALS_FILE, `${line}\n`);
    else process.stdout.write(`\n${line}\n`);
  }
}
module.exports = TotalsReporter;
