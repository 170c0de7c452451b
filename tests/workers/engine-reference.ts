/** What the workers global setup hands the engine test: onnxruntime-node outputs for one model. */
export interface EngineReference {
  /** mobileNetV2WithHead({ seed }) at 224 px, input seededInput(inputSeed, 3*224*224). */
  seed: number;
  inputSeed: number;
  probabilities: number[];
  features: number[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    engineReference: EngineReference;
  }
}
