/**
 * The page's "teach" panel: name a few classes, give each 3–10 images, and the edge builds a
 * prototype version from them (`POST /admin/models/{name}/prototypes`). Static markup; the script
 * (teach-script.ts) adds class rows and fills the parent list from the API.
 */
export const TEACH_HTML = `
<section id="teach">
<h2 id="teach-title">Teach a new version</h2>
<p class="hint">A prototype head on a published model's embedding: no training job, seconds. The admin
token stays in this page's memory and is sent only with the request that creates the version.</p>
<form id="teach-form" novalidate>
  <div class="fields">
    <div>
      <label for="teach-from">Start from</label>
      <select id="teach-from" name="from" required aria-describedby="teach-from-hint">
        <option value="">Choose a version…</option>
      </select>
      <p class="hint" id="teach-from-hint">Its embedding is what the new classes are learnt on.</p>
    </div>
    <div>
      <label for="teach-name">Name to save it under</label>
      <input type="text" id="teach-name" name="name" maxlength="64" autocomplete="off" required
        aria-describedby="teach-name-hint">
      <p class="hint" id="teach-name-hint">The parent's model, or a new name to start a model.</p>
    </div>
    <div>
      <label for="teach-activate">Route to it</label>
      <select id="teach-activate" name="activate">
        <option value="none">No (pin it to try it)</option>
        <option value="candidate">As a 30 % candidate</option>
        <option value="stable">As the stable version</option>
      </select>
    </div>
    <div>
      <label for="teach-token">Admin token</label>
      <input type="password" id="teach-token" name="token" autocomplete="off" required>
    </div>
  </div>
  <fieldset>
    <legend>Classes — 3 to 10 images each</legend>
    <ol id="teach-classes"></ol>
    <button type="button" id="teach-add" class="secondary">Add a class</button>
  </fieldset>
  <div><button type="submit" id="teach-create">Create version</button></div>
</form>
<p id="teach-status" role="status" aria-live="polite"></p>
<p id="teach-error" role="alert"></p>
</section>
`;
