// Ends the run with one plain line, "jest: N passed, N failed", that any CI can read.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(
      `jest: ${results.numPassedTests} passed, ${results.numFailedTests} failed` +
        (skipped > 0 ? `, ${skipped} skipped` : '') +
        '\n',
    );
  }
}

module.exports = SummaryReporter;
