/**
 * The transfer model's training settings from the options: one place, so that the configurations
 * cross-validated by `--select auto` train exactly as the exported model does.
 */
export interface TransferHyper {
  epochs: number;
  fineTuneEpochs: number;
  lr: number;
  batchSize: number;
  patience: number;
}

export interface HyperOptions {
  epochs?: number;
  fineTuneEpochs?: number;
  lr?: number;
  batchSize?: number;
  patience?: number;
}

export function transferHyper(o: HyperOptions, trainableConvs: number): TransferHyper {
  const retraining = trainableConvs > 0;
  return {
    epochs: o.epochs ?? 100,
    // Re-trained backbone layers get a second phase at lr/10 after the head has settled.
    fineTuneEpochs: o.fineTuneEpochs ?? (retraining ? 10 : 0),
    lr: o.lr ?? (retraining ? 3e-3 : 1e-2),
    batchSize: o.batchSize ?? 32,
    patience: o.patience ?? 10,
  };
}
