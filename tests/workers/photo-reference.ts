/** Shared by photo-setup.ts (Node) and photo-decode.test.ts (workerd): what Node decoded. */
export interface PhotoReference {
  files: {
    name: string;
    base64: string;
    /** sha256 (hex) of the upright decoded pixels, with and without the 224×224 shrink target. */
    pixels: string;
    shrunk: string;
    width: number;
    height: number;
    scale: number;
    /** sha256 of the float32 tensor bytes for a `triangle-fast` 224×224 spec (12 MP: decoded at 1/8). */
    tensor: string;
  }[];
  spec: {
    width: number;
    height: number;
    channels: 3;
    layout: 'NCHW';
    resize: 'triangle-fast';
    mean: number[];
    std: number[];
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    photoReference: PhotoReference;
  }
}
