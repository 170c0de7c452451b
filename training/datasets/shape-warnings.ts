/** Image shape. */
export interface ImageShape {
  width: number;
  height: number;
  channels: number;
}

/**
 * What a user should know about the decoded images' shapes: mixed sizes, a mix of grey and colour.
 * The in-memory loader checks its images; streamed data is checked with the shapes the decode
 * workers report.
 */
export function imageShapeWarnings(shapes: readonly ImageShape[]): string[] {
  const warnings: string[] = [];
  const sizes = new Map<string, number>();
  for (const s of shapes) {
    const key = `${s.width}×${s.height}`;
    sizes.set(key, (sizes.get(key) ?? 0) + 1);
  }
  if (sizes.size > 1) {
    const common = [...sizes.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, n]) => `${k} (${n})`);
    warnings.push(
      `images have ${sizes.size} different sizes, e.g. ${common.join(', ')}: all are resized to the model input`,
    );
  }
  const greyCount = shapes.filter((s) => s.channels === 1).length;
  if (greyCount > 0 && greyCount < shapes.length) {
    warnings.push(
      `${greyCount} of ${shapes.length} images are grey: they are repeated to 3 channels for colour models`,
    );
  }
  return warnings;
}
