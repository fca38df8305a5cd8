/** The sample app's page: start a report and watch its progress bar fill (celeriac-status.js polls the status route). */
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
<script src="/admin/celeriac/static/celeriac-status.js"></script>
<script>
const $ = (id) => document.getElementById(id);
document.getElementById('report').addEventListener('submit', async (e) => {
  e.preventDefault();
  const res = await fetch('/reports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: e.target.title.value }) });
  const { taskId } = await res.json();
  $('done').textContent = '';
  // Polls this app's own /tasks/:id until the task is done (celeriac-status.js, served by the admin).
  CeleriacStatus.poll(taskId, {
    url: '/tasks/{id}',
    intervalMs: 500,
    onProgress(s) {
      $('state').textContent = s.state;
      $('fill').style.width = (s.progress && s.progress.percent != null ? s.progress.percent : 0) + '%';
      $('step').textContent = s.progress && s.progress.step ? s.progress.step : '';
    },
    onDone(s) {
      if (s.state === 'SUCCESS') $('done').textContent = 'Done: ' + s.result.url;
      else $('done').textContent = s.state + (s.error ? ': ' + s.error.message : '');
    },
  });
});
</script>
</body></html>`;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The demo sign-in form for the admin (password from CELERIAC_DEMO_PASSWORD, default 'celeriac'). */
export function loginPage(next: string, error?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Celeriac sample app</title>
<link rel="icon" href="data:,">
<style>
 body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem;color:#1d2a1f}
 h1{color:#3b6e2a} label{display:block;margin:.8rem 0 .3rem} input{padding:.45rem;width:100%;box-sizing:border-box}
 button{margin-top:1rem;padding:.5rem 1rem} .error{color:#b3261e} .muted{color:#667}
</style></head>
<body>
<h1>Sign in</h1>
<p class="muted">The admin is for staff. In this demo the password is set by CELERIAC_DEMO_PASSWORD (default <code>celeriac</code>).</p>
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<form method="post" action="/login">
  <input type="hidden" name="next" value="${esc(next)}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" autofocus>
  <button type="submit">Sign in</button>
</form>
</body></html>`;
}
