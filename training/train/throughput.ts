/**
 * Where a training run's data time went — list, decode, features, fit — and how fast images
 * went through, with the process's peak memory: printed by the CLI, written to metrics.json and
 * report.html, read by the scale bench.
 */
import { decodeCounters } from '../datasets/decode-counters.ts';
import type { FeatureStats } from '../features/extract.ts';

export interface Throughput {
  /** Images in the run (train + validation + test). */
  images: number;
  /** Whether the data was streamed (listed, then decoded batch by batch in worker threads). */
  streamed: boolean;
  /** Listing (streamed: hashing the files) or loading (in memory: decoding too), wall seconds. */
  listSeconds: number;
  /** Worker-thread seconds spent decoding (summed over threads; overlaps the prefix runs). */
  decodeSeconds: number;
  /** Wall seconds of the feature step (store fetch, decoding and prefix runs together). */
  featureSeconds: number;
  fitSeconds: number;
  /** images / (listSeconds + featureSeconds): the rate at which data becomes features. */
  imagesPerSecond: number;
  /** Image files the feature step decoded (streamed datasets; 0 when all came from a cache). */
  decoded: number;
  /**
   * Image files decoded by the whole run: `decoded` plus the validation images the parity gate
   * and the report decode again (and every image, with --baseline scratch).
   */
  decodedTotal: number;
  /** Peak resident memory of this process so far (getrusage maxrss). */
  peakRssMb: number;
  /** Whether training read the boundary activations from the feature cache per batch. */
  activationsFromDisk: boolean;
}

export function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

export function throughput(o: {
  images: number;
  streamed: boolean;
  listSeconds: number;
  featureSeconds: number;
  fitSeconds: number;
  features: FeatureStats;
  activationsFromDisk: boolean;
}): Throughput {
  const seconds = o.listSeconds + o.featureSeconds;
  return {
    images: o.images,
    streamed: o.streamed,
    listSeconds: o.listSeconds,
    decodeSeconds: o.features.decodeSeconds ?? 0,
    featureSeconds: o.featureSeconds,
    fitSeconds: o.fitSeconds,
    imagesPerSecond: Number((o.images / Math.max(seconds, 1e-3)).toFixed(1)),
    decoded: o.features.decoded ?? 0,
    decodedTotal: decodeCounters.images,
    peakRssMb: peakRssMb(),
    activationsFromDisk: o.activationsFromDisk,
  };
}

/** The same, with the run-wide counters read again at its end. */
export function finalThroughput(t: Throughput): Throughput {
  return { ...t, decodedTotal: decodeCounters.images, peakRssMb: peakRssMb() };
}

export function describeThroughput(t: Throughput): string {
  return (
    `${t.images} images at ${t.imagesPerSecond} images/s (${t.streamed ? 'streamed' : 'in memory'}): ` +
    `list ${t.listSeconds.toFixed(1)} s, decode ${t.decodeSeconds.toFixed(1)} s (worker time), ` +
    `features ${t.featureSeconds.toFixed(1)} s, fit ${t.fitSeconds.toFixed(1)} s; ${t.decoded} files decoded; ` +
    `peak RSS ${t.peakRssMb} MB`
  );
}
