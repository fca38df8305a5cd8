/** The sample app's one page: start a report and watch its progress bar fill, by polling the status route. */
export function homePage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Celeriac sample app</title>
<link rel="icon" href="data:,">
<style>
 body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d2a1f}
 h1{color:#3b6e2a} .bar{height:1.2rem;background:#e6efe2;border-radius:.6rem;overflow:hidden}
 .bar>div{height:100%;width:0;background:#5a9a3c;transition:width .3s} button{padding:.5rem 1rem}
 #state{font-weight:600} .muted{color:#667}
</style></head>
<body>
<h1>Celeriac sample app</h1>
<p class="muted">Start a report: a worker builds it in the background and reports its progress.</p>
<form id="report"><input name="title" value="Quarterly report" aria-label="Report title"> <button type="submit">Generate report</button></form>
<p>State: <span id="state">–</span> <span id="step" class="muted"></span></p>
<div class="bar" role="progressbar" aria-valuemin="0" aria-valuemax="100"><div id="fill"></div></div>
<p id="done"></p>
<p><a href="/admin/celeriac/">Admin</a></p>
<script>
const $ = (id) => document.getElementById(id);
document.getElementById('report').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/reports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: e.target.title.value }) });
  const { taskId } = await res.json();
  $('done').textContent = '';
  for (;;) {
    const s = await (await fetch('/tasks/' + encodeURIComponent(taskId))).json();
    $('state').textContent = s.state;
    const p = s.progress && s.progress.total ? Math.round((100 * s.progress.done) / s.progress.total) : 0;
    $('fill').style.width = (s.state === 'SUCCESS' ? 100 : p) + '%';
    $('step').textContent = s.progress && s.progress.step ? s.progress.step : '';
    if (s.state === 'SUCCESS') { $('done').textContent = 'Done: ' + s.result.url; break; }
    if (s.state === 'FAILURE' || s.state === 'REVOKED') break;
    await new Promise((r) => setTimeout(r, 500));
  }
});
</script>
</body></html>`;
}
