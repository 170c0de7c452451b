/**
 * onnxruntime-node as the training side imports it: the package, with its telemetry off unless the
 * user chose otherwise. Since 1.29 the Linux and macOS builds report to Microsoft by default: the
 * first session of a process writes a device identifier and an event queue under
 * `~/.cache/Microsoft/DeveloperTools/.onnxruntime/` (3 MB after a day of test runs here), a
 * `mat-debug-<pid>.log` into the temp directory, and tries to upload. A training job on a user's
 * machine or a Kubernetes node has no business doing that unasked. onnxruntime reads
 * `ORT_DISABLE_TELEMETRY` when its environment is created, on the first session, so setting it
 * here — before any session, however this module was reached — turns all of it off
 * (tests/node/inference/ort-telemetry.test.ts). A value the user set, `0` included, is kept.
 * onnxruntime-web (the edge's fallback) has no telemetry.
 */
export * from 'onnxruntime-node';

process.env.ORT_DISABLE_TELEMETRY ??= '1';
