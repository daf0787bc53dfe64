// Prints vitest JSON results as the plain closing line CI reads: "<label>: N passed, N failed, N skipped",
// then every failed test and every file that failed outside a test (an import error, an unhandled
// error), with the first lines of its message, so the end of a CI log says what failed.
import fs from 'node:fs';
const [file, label] = process.argv.slice(2);
let r;
try {
  r = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`${label}: no results (${err.message})`);
  process.exit(1);
}
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
console.log(`${label}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
const short = (text) => String(text ?? '').split('\n').filter((l) => l.trim()).slice(0, 4).map((l) => `      ${l.slice(0, 200)}`).join('\n');
for (const f of r.testResults ?? []) {
  const name = f.name.replace(`${process.cwd()}/`, '');
  const failed = (f.assertionResults ?? []).filter((a) => a.status === 'failed');
  for (const a of failed) console.log(`  FAILED ${name} > ${a.fullName}\n${short((a.failureMessages ?? [])[0])}`);
  if (f.status === 'failed' && failed.length === 0) console.log(`  FAILED ${name} (outside any test)\n${short(f.message)}`);
}
if (r.numTotalTests === 0 || r.success === false) process.exitCode = 1;
