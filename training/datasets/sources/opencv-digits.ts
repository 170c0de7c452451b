import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EdgetuneError } from '../../../shared/errors.ts';
import type { RawImage } from '../../../shared/preprocess/types.ts';
import type { SourceListing } from '../types.ts';
import { loadImageFile } from './common.ts';

/** The sheet shipped with the project (Apache-2.0 AND BSD-3-Clause, see its LICENSE.md). */
export const OPENCV_DIGITS_FILE = fileURLToPath(
  new URL('../../../data/opencv-digits/digits.png', import.meta.url),
);

const CELL = 20;
const COLS = 100;
const ROWS = 50;
const ROWS_PER_DIGIT = 5;

/**
 * OpenCV's digits.png: 2000×1000 grey, 100 × 50 cells of 20×20 px, light digits on black; rows
 * 5d … 5d+4 hold the digit d (500 per class). Cells are listed row by row.
 */
export async function listOpencvDigits(file: string | undefined, cwd: string): Promise<SourceListing> {
  const sheetPath = file ? path.resolve(cwd, file) : OPENCV_DIGITS_FILE;
  const sheet = await loadImageFile(sheetPath);
  if (sheet.width !== COLS * CELL || sheet.height !== ROWS * CELL || sheet.channels !== 1) {
    throw new EdgetuneError(
      'bad_request',
      `${sheetPath}: expected OpenCV's 2000×1000 grey digits sheet, got ${sheet.width}×${sheet.height}×${sheet.channels}`,
    );
  }
  const candidates: SourceListing['candidates'] = [];
  for (let row = 0; row < ROWS; row++) {
    for (let col = 0; col < COLS; col++) {
      candidates.push({
        className: String(Math.floor(row / ROWS_PER_DIGIT)),
        source: `digits.png#r${row}c${col}`,
        load: () => cell(sheet, row, col),
      });
    }
  }
  const classes = Array.from({ length: ROWS / ROWS_PER_DIGIT }, (_, d) => String(d));
  return { name: 'opencv-digits', classes, candidates, warnings: [] };
}

function cell(sheet: RawImage, row: number, col: number): RawImage {
  const data = new Uint8Array(CELL * CELL);
  for (let y = 0; y < CELL; y++) {
    const start = (row * CELL + y) * sheet.width + col * CELL;
    data.set(sheet.data.subarray(start, start + CELL), y * CELL);
  }
  return { width: CELL, height: CELL, channels: 1, data };
}
