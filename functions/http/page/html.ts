import { CLIENT_SCRIPT } from './client-script.ts';
import { PAGE_CSS } from './styles.ts';
import { TEACH_HTML } from './teach-html.ts';
import { TEACH_SCRIPT } from './teach-script.ts';

/**
 * The try-a-model page. The markup is static: models, versions and predictions are filled in by
 * the script from the API, so nothing user-controlled is interpolated here. `nonce` is the CSP
 * nonce (base64 from Hono's secureHeaders) that lets exactly this page's inline style and script run.
 */
export function renderPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgetune — try a model</title>
<style nonce="${nonce}">${PAGE_CSS}</style>
</head>
<body>
<main>
<h1>edgetune</h1>
<p class="lead">Try a published model: pick it, choose or drop an image, see what the edge answers.</p>
<form id="classify-form" novalidate>
  <div class="fields">
    <div>
      <label for="model">Model</label>
      <select id="model" name="model" required aria-describedby="routing">
        <option value="">Choose a model…</option>
      </select>
      <p class="hint" id="routing"></p>
    </div>
    <div>
      <label for="version">Version</label>
      <select id="version" name="version" aria-describedby="version-hint">
        <option value="">Routed (stable, A/B weights, user key)</option>
      </select>
      <p class="hint" id="version-hint">A version here is pinned with the <code>x-model-version</code> header.</p>
    </div>
    <div>
      <label for="user-key">User key <span class="hint">(optional)</span></label>
      <input type="text" id="user-key" name="user-key" maxlength="256" autocomplete="off"
        aria-describedby="user-key-hint">
      <p class="hint" id="user-key-hint">Sent as <code>x-user-key</code>: the same key keeps its A/B version.</p>
    </div>
    <div>
      <label for="top-k">Top k</label>
      <input type="number" id="top-k" name="top-k" min="1" max="100" value="5" inputmode="numeric">
    </div>
  </div>
  <div class="drop" id="drop">
    <img id="preview" alt="The chosen image" hidden>
    <div>
      <label for="image">Image — choose a file or drop it here</label>
      <input type="file" id="image" name="image" accept="image/*">
      <p class="hint" id="file-name" aria-live="polite">No image chosen.</p>
    </div>
  </div>
  <div><button type="submit" id="classify" disabled>Classify</button></div>
</form>
<p id="status" role="status" aria-live="polite"></p>
<p id="error" role="alert"></p>
<section id="results" aria-labelledby="results-title" hidden>
  <h2 id="results-title">Predictions</h2>
  <ol id="predictions"></ol>
  <dl class="facts">
    <dt>Model</dt><dd id="answer-model"></dd>
    <dt>Version that answered</dt><dd id="answer-version"></dd>
    <dt>Route</dt><dd id="answer-route"></dd>
    <dt>Engine</dt><dd id="answer-engine"></dd>
    <dt>Server time</dt><dd id="answer-server"></dd>
    <dt>Latency (measured here)</dt><dd id="answer-latency"></dd>
  </dl>
</section>
${TEACH_HTML}
</main>
<script nonce="${nonce}">${CLIENT_SCRIPT}
${TEACH_SCRIPT}</script>
</body>
</html>
`;
}
