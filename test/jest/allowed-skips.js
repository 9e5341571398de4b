// The skips a strict run (KRILL_STRICT_SKIPS=1, set by `make test` and so by CI)
// accepts, each with why. Any other skipped test counts as a failure in the
// totals line (test/jest/totals-reporter.js), so that a test that silently
// stops running (a tool gone missing, a feature probe that fails) is noticed.
//
// An entry: { file: path from the repo root, test: the full name (describe
// titles and the test's, joined by spaces) or a RegExp matching it, why }.
// Keep it empty when nothing needs to skip.
module.exports = [];
