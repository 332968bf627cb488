/**
 * Ends the run with one plain line, `Tests: N passed, N failed, N skipped`, which CI reads whatever the
 * runner (jest's own summary is not among the formats it knows). It is written at exit so that it comes
 * after jest's summary, which jest prints after every custom reporter.
 */
export default class PlainSummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites
    const skipped = results.numPendingTests + results.numTodoTests
    // jest-circus counts the passing expect() calls of each test.
    const asserts = results.testResults
      .flatMap(file => file.testResults)
      .reduce((sum, test) => sum + (test.numPassingAsserts ?? 0), 0)
    const line = `Assertions: ${asserts} passing\nTests: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`
    process.once('exit', () => process.stderr.write(line))
  }
}
