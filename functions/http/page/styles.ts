/** The page's stylesheet, inlined under the CSP nonce (no external resources). */
export const PAGE_CSS = `
:root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --border: #d1d5db; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 46rem; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; }
p.lead { color: var(--muted); margin-top: 0; }
form { display: grid; gap: .9rem; grid-template-columns: minmax(0, 1fr); }
.fields { display: grid; gap: .9rem; grid-template-columns: repeat(auto-fit, minmax(min(10rem, 100%), 1fr)); }
/* Grid items default to their content's width: a long option text would widen the column. */
.fields > div { min-width: 0; }
select { max-width: 100%; text-overflow: ellipsis; }
label { display: block; font-weight: 600; font-size: .9rem; margin-bottom: .25rem; }
select, input[type=text], input[type=number], input[type=password], button { font: inherit; width: 100%; padding: .45rem .55rem;
  border: 1px solid var(--border); border-radius: .4rem; background: Canvas; color: CanvasText; }
.hint { color: var(--muted); font-size: .8rem; margin: .2rem 0 0; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
/* Narrow phones (390 px): the drop zone wraps and nothing inside may be wider than the screen. */
.drop { border: 2px dashed var(--border); border-radius: .6rem; padding: 1rem; display: flex; gap: 1rem;
  align-items: center; flex-wrap: wrap; }
.drop > div { flex: 1 1 12rem; min-width: 0; }
/* A file input's intrinsic width (~350 px) would otherwise set the form's minimum width. */
input[type=file] { width: 100%; font: inherit; }
#file-name { overflow-wrap: anywhere; }
.drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 8%, transparent); }
.drop img { width: 96px; height: 96px; object-fit: contain; border-radius: .3rem; background: #8882; }
.drop img[hidden] { display: none; }
button { background: var(--accent); color: #fff; border: 0; font-weight: 600; cursor: pointer; width: auto; padding-inline: 1.4rem; }
button:disabled { opacity: .5; cursor: default; }
#status { min-height: 1.5em; color: var(--muted); }
#error { color: #b91c1c; font-weight: 600; }
#error:empty { display: none; }
ol#predictions { list-style: none; padding: 0; margin: 0; display: grid; gap: .4rem; }
ol#predictions li { display: grid; grid-template-columns: minmax(0, 14rem) minmax(3rem, 1fr) 4rem; gap: .6rem; align-items: center; }
ol#predictions .label { overflow-wrap: anywhere; font-weight: 600; }
ol#predictions meter { width: 100%; height: 1.1rem; }
ol#predictions .score { text-align: right; font-variant-numeric: tabular-nums; }
dl.facts { display: grid; grid-template-columns: minmax(0, max-content) minmax(0, 1fr); gap: .2rem 1rem; margin: 1rem 0 0; }
dl.facts dt { color: var(--muted); }
#teach { margin-top: 2.5rem; border-top: 1px solid var(--border); padding-top: .5rem; }
fieldset { border: 1px solid var(--border); border-radius: .6rem; padding: .6rem .9rem 1rem; min-width: 0; }
legend { font-weight: 600; font-size: .9rem; padding: 0 .3rem; }
ol#teach-classes { list-style: none; padding: 0; margin: 0 0 .8rem; display: grid; gap: .8rem; }
li.teach-class { border: 2px dashed var(--border); border-radius: .6rem; padding: .7rem; display: grid; gap: .3rem; min-width: 0; }
li.teach-class.over { border-color: var(--accent); }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); justify-self: start; }
#teach-status { min-height: 1.5em; color: var(--muted); overflow-wrap: anywhere; }
#teach-error { color: #b91c1c; font-weight: 600; }
#teach-error:empty { display: none; }
dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
`;
