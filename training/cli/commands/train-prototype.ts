/** `edgetune train --head prototype`: flags checked, the run (training/prototype/run.ts), its summary. */
import { EdgetuneError } from '../../../shared/errors.ts';
import type { InputOptions } from '../../backbones/input-options.ts';
import { runPrototypeTraining } from '../../prototype/run.ts';
import { streamProgress } from '../../train/progress.ts';
import { printResult } from '../output.ts';

export interface PrototypeFlags {
  backbone: string;
  data: string;
  name: string;
  testData?: string;
  featureLayer?: string;
  trainable?: string | number;
  head?: string;
  baseline?: 'scratch' | 'linear';
  select?: string;
  valSplit?: number;
  seed?: number;
  out?: string;
  store?: string;
  json?: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

export async function trainPrototype(f: PrototypeFlags, input: InputOptions | undefined): Promise<void> {
  if (f.head !== 'prototype')
    throw new EdgetuneError('bad_request', '--baseline linear needs --head prototype');
  if (f.baseline === 'scratch') {
    throw new EdgetuneError('bad_request', '--head prototype compares with --baseline linear, not scratch');
  }
  if (f.trainable !== undefined && f.trainable !== 0 && f.trainable !== '0') {
    throw new EdgetuneError(
      'bad_request',
      '--head prototype uses the frozen backbone: leave out --trainable',
    );
  }
  if (f.select !== undefined)
    throw new EdgetuneError('bad_request', '--select does not apply to --head prototype');
  const r = await runPrototypeTraining({
    backbone: f.backbone,
    data: f.data,
    name: f.name,
    testData: f.testData,
    input,
    featureLayer: f.featureLayer,
    valSplit: f.valSplit,
    seed: f.seed,
    baseline: f.baseline === 'linear' ? 'linear' : undefined,
    out: f.out,
    store: f.store,
    progress: streamProgress(),
  });
  const { heldOut, ...rest } = r;
  printResult(
    f,
    { ...rest, accuracy: heldOut.accuracy, macroF1: heldOut.macroF1, confusion: heldOut.confusion },
    () =>
      [
        `${r.name}: prototype head, held-out accuracy ${pct(heldOut.accuracy)} (${r.heldOutSet} set of ${r.counts.heldOut}), leave-one-out ${pct(r.head.leaveOneOutAccuracy)} on ${r.counts.train} examples`,
        ...(r.baseline
          ? [
              `prototype ${pct(heldOut.accuracy)} vs trained linear head ${pct(r.baseline.accuracy)}: ${
                r.winner === 'tie' ? 'tie' : `${r.winner} wins`
              }`,
            ]
          : []),
        `parity: max |Δp| ${r.parity.maxAbsDiff.toExponential(2)} on ${r.parity.samples} images (engines: ${r.parity.engines.join(', ')})`,
        `wrote ${r.outDir} (model.onnx, manifest.json, metrics.json, report.html) in ${r.seconds.toFixed(1)} s`,
        ...(r.version ? [`published ${r.name} ${r.version} to ${r.store}`] : []),
      ].join('\n'),
  );
}
