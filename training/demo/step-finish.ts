/**
 * Step 7: where to look next — the HTML training reports, and the browser page the edge serves
 * at `/` (checked on the running edge, so the demo says whether this build has it).
 */
import { DEFAULT_STORE_URL } from '../../shared/store/node/open.ts';
import type { DemoContext } from './context.ts';
import type { EdgeClient } from './edge-client.ts';
import { shownPath } from './narrator.ts';

export interface FinishOutcome {
  reports: { digits: string; photos: string };
  page: { command: string; url: string; status: number; html: boolean };
}

export async function finishStep(
  ctx: DemoContext,
  client: EdgeClient,
  reports: { digits: string; photos: string },
): Promise<FinishOutcome> {
  const { n } = ctx;
  n.say(`HTML report (transfer vs scratch, confusion matrix, mistakes): ${shownPath(reports.digits)}`);
  n.say(`HTML report (MobileNetV2 photo model): ${shownPath(reports.photos)}`);
  const page = await client.get('/');
  const html = page.status === 200 && page.type.startsWith('text/html');
  const storeFlag = ctx.storeUrl === DEFAULT_STORE_URL ? '' : ` --store ${ctx.storeUrl}`;
  const command = `npx edgetune serve${storeFlag}`;
  const url = 'http://127.0.0.1:8787/';
  n.say(`browser page: run \`${command}\` and open ${url}`);
  n.say(
    html
      ? `  (checked: this edge answers GET / with an HTML page)`
      : `  (checked: this build's edge answered GET / with ${page.status} ${page.type || ''}; the page is not in it yet)`,
  );
  return { reports, page: { command, url, status: page.status, html } };
}
