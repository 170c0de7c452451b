/**
 * A photo corpus made at test time from the project's own photos (data/photos, public domain /
 * CC0) with the real tools clients' files come from: ImageMagick, libjpeg-turbo's cjpeg, libwebp's
 * cwebp, exiftool, libheif's heif-enc (Debian packages; .ci/run installs them). Files go to a temp
 * directory; nothing binary is committed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './fixtures.ts';

export interface CorpusFile {
  name: string;
  path: string;
  /** EXIF orientation written into the file (1 = none). */
  orientation: number;
  /** The photo it shows, upright: for the same-top-1 check. */
  upright: string;
  /** Large files are compared with the reference at their shrink-on-load scale only. */
  large?: boolean;
}

export interface Corpus {
  dir: string;
  files: CorpusFile[];
  /** Recognised formats refused with a 415 (no decoder fits the Worker). */
  refused: { name: string; path: string }[];
  cleanup(): void;
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
}

/** The ImageMagick operation that stores an upright picture so that orientation `o` shows it upright. */
const STORE_FOR: Record<number, string[]> = {
  1: [],
  2: ['-flop'],
  3: ['-rotate', '180'],
  4: ['-flip'],
  5: ['-transpose'],
  6: ['-rotate', '270'],
  7: ['-transverse'],
  8: ['-rotate', '90'],
};

export function buildPhotoCorpus(opts: { large: boolean }): Corpus {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-photos-'));
  const p = (name: string) => path.join(dir, name);
  const coffee = `${repoRoot}data/photos/coffee.png`;
  const chelsea = `${repoRoot}data/photos/chelsea.png`;
  const files: CorpusFile[] = [];
  const add = (name: string, upright: string, orientation = 1, large = false) =>
    files.push({ name, path: p(name), orientation, upright, ...(large ? { large } : {}) });

  run('convert', [coffee, p('coffee.ppm')]);
  run('convert', [chelsea, p('chelsea.ppm')]);
  run('cjpeg', ['-quality', '90', '-outfile', p('baseline-420.jpg'), p('coffee.ppm')]);
  add('baseline-420.jpg', coffee);
  run('cjpeg', ['-quality', '90', '-progressive', '-outfile', p('progressive.jpg'), p('coffee.ppm')]);
  add('progressive.jpg', coffee);
  run('cjpeg', ['-quality', '90', '-grayscale', '-outfile', p('grey.jpg'), p('coffee.ppm')]);
  add('grey.jpg', coffee);
  run('cjpeg', [
    '-quality',
    '90',
    '-sample',
    '2x1',
    '-restart',
    '1',
    '-outfile',
    p('restart-422.jpg'),
    p('chelsea.ppm'),
  ]);
  add('restart-422.jpg', chelsea);
  run('cjpeg', ['-quality', '90', '-sample', '1x1', '-outfile', p('444.jpg'), p('chelsea.ppm')]);
  add('444.jpg', chelsea);
  run('cjpeg', [
    '-quality',
    '90',
    '-sample',
    '1x2',
    '-progressive',
    '-restart',
    '2',
    '-outfile',
    p('440-prog.jpg'),
    p('chelsea.ppm'),
  ]);
  add('440-prog.jpg', chelsea);
  run('convert', [coffee, '-colorspace', 'CMYK', '-quality', '90', p('cmyk.jpg')]);
  add('cmyk.jpg', coffee);
  for (let o = 1; o <= 8; o++) {
    const name = `orientation-${o}.jpg`;
    run('convert', [coffee, ...STORE_FOR[o]!, '-quality', '90', p(name)]);
    run('exiftool', ['-q', '-n', `-Orientation=${o}`, '-overwrite_original', p(name)]);
    add(name, coffee, o);
  }
  // PNG variants: 8-bit RGB, RGBA (alpha on white), 16-bit grey, palette, Adam7.
  run('convert', [chelsea, p('rgb.png')]);
  add('rgb.png', chelsea);
  run('convert', [
    chelsea,
    '-alpha',
    'set',
    '-channel',
    'A',
    '-evaluate',
    'set',
    '70%',
    '+channel',
    p('rgba.png'),
  ]);
  add('rgba.png', chelsea);
  run('convert', [chelsea, '-colorspace', 'Gray', '-depth', '16', p('grey16.png')]);
  add('grey16.png', chelsea);
  run('convert', [chelsea, '-colors', '200', `PNG8:${p('palette.png')}`]);
  add('palette.png', chelsea);
  run('convert', [chelsea, '-interlace', 'PNG', p('adam7.png')]);
  add('adam7.png', chelsea);
  // WebP: lossy, lossless, lossy with alpha; with an orientation in its EXIF chunk.
  run('cwebp', ['-quiet', '-q', '90', coffee, '-o', p('lossy.webp')]);
  add('lossy.webp', coffee);
  run('cwebp', ['-quiet', '-lossless', chelsea, '-o', p('lossless.webp')]);
  add('lossless.webp', chelsea);
  run('cwebp', ['-quiet', '-q', '90', '-exact', p('rgba.png'), '-o', p('alpha.webp')]);
  add('alpha.webp', chelsea);
  run('convert', [coffee, '-colors', '256', p('first-frame.gif')]);
  add('first-frame.gif', coffee);
  if (opts.large) {
    // Phone-sized q90 JPEGs (4:2:0, what camera apps write): 12 MP and 48 MP.
    run('convert', [
      coffee,
      '-resize',
      '4032x3024!',
      '-quality',
      '90',
      '-sampling-factor',
      '2x2',
      p('12mp.jpg'),
    ]);
    add('12mp.jpg', coffee, 1, true);
    run('convert', [
      coffee,
      '-resize',
      '8000x6000!',
      '-quality',
      '90',
      '-sampling-factor',
      '2x2',
      p('48mp.jpg'),
    ]);
    add('48mp.jpg', coffee, 1, true);
    run('convert', [p('12mp.jpg'), '-rotate', '270', '-quality', '90', p('12mp-portrait.jpg')]);
    run('exiftool', ['-q', '-n', '-Orientation=6', '-overwrite_original', p('12mp-portrait.jpg')]);
    add('12mp-portrait.jpg', coffee, 6, true);
  }
  run('heif-enc', ['-q', '50', coffee, '-o', p('photo.heic')]);
  run('heif-enc', ['-A', '-q', '50', coffee, '-o', p('photo.avif')]);
  const refused = ['photo.heic', 'photo.avif'].map((name) => ({ name, path: p(name) }));
  return { dir, files, refused, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
