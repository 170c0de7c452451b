/** Prints the markdown tables of the last `npm run bench` again from bench/results.json. */
import fs from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../local-edge/bundle.ts';
import { type BenchSummary, renderMarkdown } from './report.ts';

const results = JSON.parse(
  fs.readFileSync(path.join(projectRoot, 'bench', 'results.json'), 'utf8'),
) as BenchSummary;
console.log(renderMarkdown(results));
