// Validates speedscope files against the file-format schema shipped in the npm package speedscope
// (dist/release/file-format-schema.json), with ajv; prints "FILE METRIC TOTAL" per profile (the sum of
// its weights, which must equal its endValue). Exit status 1 when a file is invalid.
const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');
const schema = require('speedscope/dist/release/file-format-schema.json');
const validate = new Ajv({strict: false}).compile(schema);
for (const file of process.argv.slice(2)) {
  const data = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (!validate(data)) {
    console.log(`${file}: ${JSON.stringify(validate.errors).slice(0, 400)}`);
    process.exitCode = 1;
    continue;
  }
  for (const p of data.profiles) {
    const total = p.weights.reduce((a, b) => a + b, 0);
    if (total !== p.endValue || p.samples.length !== p.weights.length) {
      console.log(`${file}: ${p.name}: weights add up to ${total}, endValue ${p.endValue}`);
      process.exitCode = 1;
    }
    console.log(`${path.basename(file)} ${p.name.slice(p.name.lastIndexOf(': ') + 2)} ${total}`);
  }
}
