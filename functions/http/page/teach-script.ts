/**
 * The teach panel's browser script (see teach-html.ts), inlined under the CSP nonce after the main
 * page script, whose `window.edgetunePage` it uses: the JSON/error reader, the model list, and
 * showing the new version pinned in the classify form. Labels typed here and everything from the
 * API reach the DOM only as text. The admin token is read from its field when the request is made
 * and kept nowhere else: not in storage, not in the URL, not sent to the server except as the
 * request's Authorization header.
 */
export const TEACH_SCRIPT = `
'use strict';
(() => {
  const api = window.edgetunePage;
  const $ = (id) => document.getElementById(id);
  const form = $('teach-form');
  const fromSelect = $('teach-from');
  const nameInput = $('teach-name');
  const activateSelect = $('teach-activate');
  const tokenInput = $('teach-token');
  const list = $('teach-classes');
  const addButton = $('teach-add');
  const create = $('teach-create');
  const statusLine = $('teach-status');
  const errorLine = $('teach-error');
  // The page's limits (the edge's own are wider: 2 to 32 per class, 64 per request).
  const MIN_PER_CLASS = 3;
  const MAX_PER_CLASS = 10;
  const MAX_CLASSES = 6;
  let rows = 0;

  function addRow() {
    if (list.children.length >= MAX_CLASSES) return;
    const n = ++rows;
    const li = document.createElement('li');
    li.className = 'teach-class';
    li.files = [];
    const labelLabel = document.createElement('label');
    labelLabel.htmlFor = 'teach-label-' + n;
    labelLabel.textContent = 'Class ' + n + ' name';
    const label = document.createElement('input');
    label.type = 'text';
    label.id = 'teach-label-' + n;
    label.maxLength = 128;
    label.autocomplete = 'off';
    const filesLabel = document.createElement('label');
    filesLabel.htmlFor = 'teach-files-' + n;
    filesLabel.textContent = 'Class ' + n + ' images — choose or drop 3 to 10';
    const files = document.createElement('input');
    files.type = 'file';
    files.id = 'teach-files-' + n;
    files.accept = 'image/*';
    files.multiple = true;
    const count = document.createElement('p');
    count.className = 'hint';
    count.setAttribute('aria-live', 'polite');
    count.textContent = 'No images.';
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.className = 'secondary';
    remove.textContent = 'Remove class ' + n;
    const setFiles = (fs) => {
      li.files = Array.from(fs || []).slice(0, MAX_PER_CLASS);
      const extra = (fs ? fs.length : 0) - li.files.length;
      count.textContent = li.files.length === 0 ? 'No images.'
        : li.files.length + ' image(s)' + (extra > 0 ? '; ' + extra + ' more left out (at most ' + MAX_PER_CLASS + ')' : '');
    };
    files.addEventListener('change', () => setFiles(files.files));
    for (const type of ['dragenter', 'dragover']) {
      li.addEventListener(type, (e) => { e.preventDefault(); li.classList.add('over'); });
    }
    for (const type of ['dragleave', 'drop']) li.addEventListener(type, () => li.classList.remove('over'));
    li.addEventListener('drop', (e) => {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length > 0) setFiles(e.dataTransfer.files);
    });
    remove.addEventListener('click', () => {
      if (list.children.length > 2) li.remove();
      addButton.disabled = list.children.length >= MAX_CLASSES;
    });
    li.append(labelLabel, label, filesLabel, files, count, remove);
    li.labelInput = label;
    list.append(li);
    addButton.disabled = list.children.length >= MAX_CLASSES;
  }

  function fillParents(models) {
    const keep = fromSelect.value;
    const options = [new Option('Choose a version…', '')];
    for (const m of models) {
      for (const v of m.versions.slice().reverse()) {
        options.push(new Option(m.name + ' ' + v + (v === m.stable ? ' (stable)' : ''), m.name + '@' + v));
      }
    }
    fromSelect.replaceChildren(...options);
    if (keep) fromSelect.value = keep;
  }

  /** What the form asks for, or a sentence saying what is missing. */
  function collect() {
    if (!fromSelect.value) return 'Choose the version to start from.';
    const name = nameInput.value.trim();
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
      return 'The model name uses letters, digits, ".", "-" and "_" (up to 64).';
    }
    if (!tokenInput.value) return 'Enter the admin token.';
    const classes = [];
    for (const li of list.children) {
      const label = li.labelInput.value.trim();
      if (!label) return 'Every class needs a name.';
      if (classes.some((c) => c.label === label)) return 'Two classes are named ' + JSON.stringify(label) + '.';
      if (li.files.length < MIN_PER_CLASS) {
        return 'Class ' + JSON.stringify(label) + ' has ' + li.files.length + ' image(s); give it ' + MIN_PER_CLASS + ' to ' + MAX_PER_CLASS + '.';
      }
      classes.push({ label, files: li.files });
    }
    if (classes.length < 2) return 'Teach at least 2 classes.';
    return { name, classes };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorLine.textContent = '';
    const what = collect();
    if (typeof what === 'string') {
      statusLine.textContent = '';
      errorLine.textContent = what;
      return;
    }
    const body = new FormData();
    body.append('from', fromSelect.value);
    const activate = activateSelect.value;
    body.append('activate', activate === 'candidate' ? JSON.stringify({ candidate: 30 }) : activate);
    for (const c of what.classes) for (const f of c.files) body.append(c.label, f, f.name);
    create.disabled = true;
    statusLine.textContent = 'Creating a version from ' + what.classes.reduce((n, c) => n + c.files.length, 0) + ' images…';
    try {
      const res = await fetch('/admin/models/' + encodeURIComponent(what.name) + '/prototypes', {
        method: 'POST',
        headers: { authorization: 'Bearer ' + tokenInput.value, accept: 'application/json' },
        body,
      });
      const made = await api.readJson(res);
      const loo = typeof made.leave_one_out_accuracy === 'number'
        ? (made.leave_one_out_accuracy * 100).toFixed(0) + '%' : '—';
      // Pinned in the classify form first, so the message below is true when it appears.
      await api.showVersion(String(made.model), String(made.version));
      statusLine.textContent = 'Created ' + made.model + ' ' + made.version + ' (' + made.classes.join(', ') +
        '; leave-one-out ' + loo + '). It is pinned above: choose a picture to see it answer.';
    } catch (err) {
      statusLine.textContent = '';
      errorLine.textContent = err instanceof TypeError ? 'Request failed: ' + err.message : err.message;
    } finally {
      create.disabled = false;
    }
  });
  fromSelect.addEventListener('change', () => {
    if (!nameInput.value && fromSelect.value) nameInput.value = fromSelect.value.split('@')[0];
  });
  addButton.addEventListener('click', addRow);
  addRow();
  addRow();
  api.onModels(fillParents);
})();
`;
