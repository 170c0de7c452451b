/**
 * The configurations `--select auto` compares: where to cut the backbone, which head, how many
 * backbone layers to re-train, or no backbone at all (the scratch CNN). Each has a complexity
 * rank: a prototype head (class means, nothing fitted) is simpler than a logistic head (a convex
 * fit, training/fit/logistic.ts), which is simpler than an MLP; re-training backbone layers (under
 * a linear head trained with them) is more complex still, and a network trained from scratch most
 * of all. Among equally complex heads the backbone's own feature layer comes first.
 */
import { type HeadSpec, LOGISTIC_HEAD } from '../fit/head.ts';

export type HeadKind = 'prototype' | 'logistic' | 'linear' | 'mlp';
/** Every head a configuration may carry (a recipe's recorded choice is one of these). */
export const HEAD_KINDS: readonly HeadKind[] = ['prototype', 'logistic', 'linear', 'mlp'];
/**
 * The heads tried on every cut point's cached activations, cheapest first. The SGD-trained linear
 * head is not among them: on the same features the logistic head is the same model fitted to its
 * optimum instead of early-stopped on a few validation images. It stays the head of the
 * fine-tuning configurations, which train backbone layers under it.
 */
export const FROZEN_HEADS: readonly HeadKind[] = ['prototype', 'logistic', 'mlp'];

/** Heads computed from the features with no seed (nothing random to refit). */
export function computedHead(head: HeadKind): head is 'prototype' | 'logistic' {
  return head === 'prototype' || head === 'logistic';
}

export interface Configuration {
  id: string;
  kind: 'transfer' | 'scratch';
  /** ONNX tensor the embedding is taken from (pooled when spatial); undefined = the backbone's default. */
  featureLayer?: string;
  /** Conv layers re-trained at the end of the backbone (fine-tuning depth); 0 = frozen. */
  trainable: number;
  head: HeadKind;
  complexity: number;
  /** Nested family for the one-SE step (choose.ts): the heads on one cut point; the fine-tuning depths. */
  family?: string;
}

/** Units of the MLP head's hidden layer: small, for tens of labels per class. */
export const MLP_HIDDEN = 128;

export function headSpecOf(head: HeadKind): HeadSpec {
  if (head === 'mlp') return { dropout: 0.2, hidden: MLP_HIDDEN };
  if (head === 'logistic') return { ...LOGISTIC_HEAD };
  // The prototype head is computed, not trained: dropout would never apply.
  if (head === 'prototype') return { dropout: 0, hidden: 0 };
  return { dropout: 0.2, hidden: 0 };
}

export interface SpaceOptions {
  /** The backbone's feature tensor, then earlier cut points (candidates.ts). */
  layers: { tensor: string | undefined; label: string }[];
  /** Fine-tuning depths the backbone allows (needs a tfjs model), e.g. [1, 2]. */
  depths: number[];
  scratch: boolean;
}

export function buildSpace(o: SpaceOptions): Configuration[] {
  const out: Configuration[] = [];
  o.layers.forEach((layer, li) => {
    FROZEN_HEADS.forEach((head, hi) => {
      out.push({
        id: `${layer.label} · ${head}`,
        kind: 'transfer',
        featureLayer: layer.tensor,
        trainable: 0,
        head,
        complexity: hi * 10 + li,
        family: layer.label,
      });
    });
  });
  for (const depth of o.depths) {
    out.push({
      id: `fine-tune ${depth} · linear`,
      kind: 'transfer',
      trainable: depth,
      head: 'linear',
      complexity: 100 + depth,
      family: 'fine-tune',
    });
  }
  if (o.scratch)
    out.push({ id: 'scratch CNN', kind: 'scratch', trainable: 0, head: 'linear', complexity: 1000 });
  return out;
}
