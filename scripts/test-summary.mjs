#!/usr/bin/env node
// Prints jest's totals as one plain closing line ("jest: N passed, N failed, N skipped") from
// its --json results, for CI logs that read a closing line. Exit code stays jest's (Makefile).
import { readFileSync } from 'node:fs';

try {
  const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + (r.numTodoTests ?? 0)} skipped`);
} catch (err) {
  console.log(`jest: results unavailable (${err.message})`);
}
