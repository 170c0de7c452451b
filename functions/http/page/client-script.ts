/**
 * The page's browser script, inlined under the CSP nonce. It is a plain string rather than a
 * bundled function's `toString()`: wrangler bundles with `keepNames`, which would inject calls to
 * a `__name` helper that does not exist in the browser.
 *
 * Everything that comes from the API (model names, versions, labels, error messages, headers) is
 * user data: it reaches the DOM only through `textContent`, `new Option(text, value)` and
 * attribute setters — never through `innerHTML`. The headless-Chromium test in
 * tests/node/e2e/page.test.ts drives this script end to end.
 */
export const CLIENT_SCRIPT = `
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const form = $('classify-form');
  const modelSelect = $('model');
  const versionSelect = $('version');
  const userKeyInput = $('user-key');
  const topKInput = $('top-k');
  const fileInput = $('image');
  const drop = $('drop');
  const preview = $('preview');
  const fileName = $('file-name');
  const submit = $('classify');
  const statusLine = $('status');
  const errorLine = $('error');
  const routingLine = $('routing');
  const results = $('results');
  const list = $('predictions');
  const facts = {
    model: $('answer-model'),
    version: $('answer-version'),
    route: $('answer-route'),
    engine: $('answer-engine'),
    server: $('answer-server'),
    client: $('answer-latency'),
  };
  let models = [];
  const modelListeners = [];
  let file = null;
  let previewUrl = null;

  const setStatus = (text) => { statusLine.textContent = text; };
  const setError = (text) => { errorLine.textContent = text; };

  async function readJson(res) {
    const text = await res.text();
    let body = null;
    try { body = JSON.parse(text); } catch { /* not JSON: reported below */ }
    if (!res.ok) {
      const e = body && body.error;
      throw new Error(e && e.code ? e.code + ': ' + e.message : 'HTTP ' + res.status + ' ' + text.slice(0, 200));
    }
    if (body === null) throw new Error('the server did not answer with JSON');
    return body;
  }

  function currentModel() {
    return models.find((m) => m.name === modelSelect.value) || null;
  }

  function describeRouting(m) {
    const parts = [];
    parts.push('stable: ' + (m.stable || 'none'));
    // Candidate weights are percentages; stable takes what they leave.
    for (const c of m.candidates || []) parts.push('candidate ' + c.version + ' at ' + c.weight + '%');
    if (m.shadow) parts.push('shadow: ' + m.shadow.version);
    if (m.problem) parts.push('problem: ' + m.problem);
    return parts.join(' · ');
  }

  function fillVersions() {
    const m = currentModel();
    const options = [new Option('Routed (stable, A/B weights, user key)', '')];
    if (m) {
      for (const v of m.versions.slice().reverse()) {
        options.push(new Option(v === m.stable ? v + ' (stable)' : v, v));
      }
    }
    versionSelect.replaceChildren(...options);
    routingLine.textContent = m ? describeRouting(m) : '';
    updateSubmit();
  }

  function updateSubmit() {
    submit.disabled = !(file && modelSelect.value);
  }

  async function loadModels() {
    setStatus('Loading models…');
    try {
      const body = await readJson(await fetch('/v1/models', { headers: { accept: 'application/json' } }));
      models = (body.models || []).filter((m) => Array.isArray(m.versions) && m.versions.length > 0);
      // No model is preselected: a picture must never be answered by a model nobody chose
      // (a cat photo classified by a digits model).
      modelSelect.replaceChildren(
        new Option('Choose a model…', ''),
        ...models.map((m) => new Option(m.name, m.name)),
      );
      modelSelect.disabled = models.length === 0;
      for (const listener of modelListeners) listener(models);
      setStatus(models.length === 0 ? 'No models are published yet.' : models.length + ' model(s) available.');
      fillVersions();
    } catch (e) {
      setStatus('');
      setError('Could not list models: ' + e.message);
    }
  }

  function chooseFile(f) {
    file = f || null;
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = file ? URL.createObjectURL(file) : null;
    preview.hidden = !previewUrl;
    if (previewUrl) preview.src = previewUrl; else preview.removeAttribute('src');
    fileName.textContent = file ? file.name + ' (' + Math.max(1, Math.round(file.size / 1024)) + ' KB)' : 'No image chosen.';
    updateSubmit();
    if (file && modelSelect.value) classify();
  }

  function renderPredictions(predictions) {
    const items = predictions.map((p) => {
      const li = document.createElement('li');
      const label = document.createElement('span');
      label.className = 'label';
      label.textContent = String(p.label);
      const meter = document.createElement('meter');
      meter.min = 0;
      meter.max = 1;
      meter.value = Number(p.score);
      const pct = (Number(p.score) * 100).toFixed(1) + '%';
      meter.setAttribute('aria-label', String(p.label) + ' ' + pct);
      const score = document.createElement('span');
      score.className = 'score';
      score.textContent = pct;
      li.append(label, meter, score);
      return li;
    });
    list.replaceChildren(...items);
  }

  let inFlight = 0;
  async function classify() {
    if (!file || !modelSelect.value) return;
    const ticket = ++inFlight;
    setError('');
    setStatus('Classifying…');
    submit.disabled = true;
    results.setAttribute('aria-busy', 'true');
    try {
      // The edge identifies the format from the bytes; the file's own type is sent when the
      // browser knows one, so a mislabelled or non-image file gets the edge's own explanation.
      const headers = { 'content-type': file.type || 'application/octet-stream', accept: 'application/json' };
      if (versionSelect.value) headers['x-model-version'] = versionSelect.value;
      const key = userKeyInput.value.trim();
      if (key) headers['x-user-key'] = key;
      const topK = Math.min(100, Math.max(1, Math.round(Number(topKInput.value) || 5)));
      const url = '/v1/models/' + encodeURIComponent(modelSelect.value) + '/classify?top_k=' + topK;
      const started = performance.now();
      const res = await fetch(url, { method: 'POST', headers, body: file });
      const body = await readJson(res);
      const elapsed = performance.now() - started;
      if (ticket !== inFlight) return;
      renderPredictions(Array.isArray(body.predictions) ? body.predictions : []);
      facts.model.textContent = String(body.model);
      facts.version.textContent = String(body.version);
      facts.route.textContent = res.headers.get('x-model-route') || '—';
      facts.engine.textContent = res.headers.get('x-engine') || 'not reported';
      facts.server.textContent = typeof body.timing_ms === 'number' ? body.timing_ms.toFixed(1) + ' ms' : '—';
      facts.client.textContent = elapsed.toFixed(1) + ' ms';
      results.hidden = false;
      setStatus('Answered by ' + body.model + ' ' + body.version + ' in ' + elapsed.toFixed(0) + ' ms.');
    } catch (e) {
      if (ticket !== inFlight) return;
      // An old answer left on screen beside a new error would be read as this request's answer.
      results.hidden = true;
      setStatus('');
      setError(e instanceof TypeError ? 'Request failed: ' + e.message : e.message);
    } finally {
      if (ticket === inFlight) {
        results.removeAttribute('aria-busy');
        updateSubmit();
      }
    }
  }

  // A chosen file that is not a displayable image gets no preview (the edge will say why).
  preview.addEventListener('error', () => { preview.hidden = true; });
  // A new model or version is a new question about the same picture: ask it at once.
  modelSelect.addEventListener('change', () => {
    fillVersions();
    if (!modelSelect.value) results.hidden = true;
    classify();
  });
  versionSelect.addEventListener('change', () => { classify(); });
  fileInput.addEventListener('change', () => chooseFile(fileInput.files[0]));
  form.addEventListener('submit', (e) => { e.preventDefault(); classify(); });
  for (const type of ['dragenter', 'dragover']) {
    drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add('over'); });
  }
  for (const type of ['dragleave', 'drop']) {
    drop.addEventListener(type, () => drop.classList.remove('over'));
  }
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    const f = e.dataTransfer && e.dataTransfer.files[0];
    if (!f) return;
    try { fileInput.files = e.dataTransfer.files; } catch { /* older browsers: keep our own reference */ }
    chooseFile(f);
  });
  // For the teach panel (teach-script.ts), which runs after this script.
  window.edgetunePage = {
    readJson,
    onModels(listener) {
      modelListeners.push(listener);
      if (models.length > 0) listener(models);
    },
    /** Reloads the models and pins \`version\` of \`name\` in the form; answers at once if a picture is chosen. */
    async showVersion(name, version) {
      await loadModels();
      modelSelect.value = name;
      fillVersions();
      versionSelect.value = version;
      results.hidden = true;
      classify();
    },
  };
  loadModels();
})();
`;
