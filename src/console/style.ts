/** The console's stylesheet, served as console.css (kept in TypeScript so the package needs no copy step). */
export const CONSOLE_CSS = `
:root { --bg:#f6f7f9; --card:#fff; --line:#dde1e6; --ink:#1d2430; --dim:#6b7685; --accent:#2b6cb0; --bad:#c53030; --warn:#b7791f; }
* { box-sizing: border-box; }
body { margin:0; font:13px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:16px; padding:8px 16px; background:#1d2430; color:#fff; }
header h1 { font-size:16px; margin:0; }
header input { width:4em; }
nav button { background:none; border:0; color:#cbd5e0; padding:6px 10px; cursor:pointer; font:inherit; }
nav button.on { color:#fff; border-bottom:2px solid #63b3ed; }
#banner { padding:8px 16px; background:#fefcbf; border-bottom:1px solid #ecc94b; font-weight:600; }
#banner.down { background:#fed7d7; border-color:var(--bad); }
main { padding:12px 16px; }
section.view[hidden] { display:none; }
.cards { display:flex; flex-wrap:wrap; gap:10px; margin-bottom:12px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:8px 12px; min-width:130px; }
.card .k { color:var(--dim); font-size:11px; text-transform:uppercase; }
.card .v { font-size:20px; font-variant-numeric:tabular-nums; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:10px; margin-bottom:14px; overflow-x:auto; }
.panel h2 { font-size:14px; margin:0 0 8px; }
.panel .meta { color:var(--dim); margin-left:8px; font-weight:normal; }
table { border-collapse:collapse; font-variant-numeric:tabular-nums; }
th, td { padding:3px 8px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
.state-up { color:#2f855a; } .state-down, .state-unavailable, .state-unhealthy { color:var(--bad); }
.vt { position:relative; overflow-y:auto; border:1px solid var(--line); }
.vt .spacer { position:relative; }
.vrow, .vhead { display:grid; align-items:center; height:24px; padding:0 6px; font-variant-numeric:tabular-nums; }
.vrow { position:absolute; left:0; right:0; border-bottom:1px solid #eef0f3; cursor:pointer; }
.vrow.sel { background:#ebf4ff; }
.vrow > span, .vhead > span { overflow:hidden; text-overflow:ellipsis; white-space:nowrap; text-align:right; padding-right:8px; }
.vrow > span:first-child, .vhead > span:first-child { text-align:left; }
.vhead { background:#edf2f7; font-weight:600; position:sticky; top:0; z-index:1; }
.vhead > span { cursor:pointer; user-select:none; }
.vhead > span.sorted::after { content:' \\25BC'; font-size:9px; }
.vhead > span.sorted.asc::after { content:' \\25B2'; }
.zone-tools { display:flex; gap:12px; align-items:center; margin-bottom:6px; }
.fill { display:inline-block; width:80px; height:8px; background:#e2e8f0; border-radius:4px; vertical-align:middle; }
.fill > i { display:block; height:100%; background:var(--accent); border-radius:4px; }
.detail { margin-top:8px; min-height:40px; }
.empty { color:var(--dim); }
`;
