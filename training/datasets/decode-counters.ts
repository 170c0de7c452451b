/**
 * Process-wide count of image files decoded for streamed datasets (worker pool and on-demand
 * reads together): the CLI reports it in --json so a test can check that no image is decoded
 * twice across sharded feature runs and the training run that uses them.
 */
export const decodeCounters = { images: 0 };
