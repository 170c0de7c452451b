/** Batch size the workerd int8 test runs (batch > 1 on purpose). */
export const INT8_WORKERD_BATCH = 2;

/** What the workers global setup hands the int8 test: onnxruntime-node outputs per fixture case. */
export type Int8Reference = Record<string, Record<string, number[]>>;

declare module 'vitest' {
  export interface ProvidedContext {
    int8Reference: Int8Reference;
  }
}
