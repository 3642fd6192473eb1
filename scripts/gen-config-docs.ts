// `npm run gen:config`: writes config/mctb.example.yaml and the key table in README.md from the
// schema (src/config/schema.ts). Run it after adding or changing a key; test/config/docs.test.ts
// fails until the committed files match.

import * as fs from 'fs';
import * as path from 'path';
import { exampleConfig, withKeyTable } from '../src/config/docs';

// Compiled to dist/scripts/.
const root = path.resolve(__dirname, '../..');

const example = path.join(root, 'config', 'mctb.example.yaml');
fs.writeFileSync(example, exampleConfig());
const readme = path.join(root, 'README.md');
fs.writeFileSync(readme, withKeyTable(fs.readFileSync(readme, 'utf8')));
console.log(`wrote ${path.relative(root, example)} and the key table in ${path.relative(root, readme)}`);
