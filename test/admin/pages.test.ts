import type { Celeriac } from '../../src';
import type { Worker } from '../../src/worker/worker';
import { escapeHtml, html, trustedHtml } from '../../src/admin/html';
import { cleanup } from '../helpers';
import { adminApp, MOUNT, staffSession, waitForState, type StaffSession } from './helpers';

const XSS = '<img src=x onerror=alert(1)>';

let app: Celeriac;
let worker: Worker;
let s: StaffSession;
beforeAll(async () => {
  const made = await adminApp('admin_pages');
  app = made.app;
  s = await staffSession(made.web);
  worker = app.worker({ name: 'pages-w@test' });
  await worker.start();
});
afterAll(() => cleanup(app));

describe('the html helper', () => {
  test('escapes every interpolation, keeps nested html, joins arrays, drops null/false', () => {
    const name = `"'<>&\``;
    expect(html`<p title="${name}">${name}</p>`.value).toBe(
      '<p title="&quot;&#39;&lt;&gt;&amp;&#96;">&quot;&#39;&lt;&gt;&amp;&#96;</p>',
    );
    expect(html`<ul>${['<a>', 'b'].map((x) => html`<li>${x}</li>`)}</ul>`.value).toBe(
      '<ul><li>&lt;a&gt;</li><li>b</li></ul>',
    );
    expect(html`${null}${undefined}${false}${0}`.value).toBe('0');
    expect(html`${trustedHtml('<br>')}`.value).toBe('<br>');
    expect(escapeHtml(XSS)).toBe('&lt;img src=x onerror=alert(1)&gt;');
  });
});

describe('pages', () => {
  let xssId: string;
  let failedId: string;
  beforeAll(async () => {
    xssId = (await s.post('/api/tasks', { task: 'math.echo', args: [XSS], kwargs: { [XSS]: XSS } }).expect(202)).body
      .id;
    failedId = (await s.post('/api/tasks', { task: 'math.boom' }).expect(202)).body.id;
    await waitForState(s, xssId, ['SUCCESS']);
    await waitForState(s, failedId, ['FAILURE']);
  });

  test('every page is a complete document with the favicon link, CSRF meta and assets, and no-store', async () => {
    for (const path of ['/', '/tasks', '/tasks/new', `/tasks/${xssId}`, '/workers']) {
      const res = await s.get(path).expect(200);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toMatch(/^<!doctype html>/);
      expect(res.text).toContain('<link rel="icon" href="data:,">');
      expect(res.text).toMatch(/<meta name="celeriac-csrf" content="[\w-]{43}">/);
      expect(res.text).toContain(`${MOUNT}/static/admin.js?v=`);
      // Pages never carry inline scripts: the CSP forbids them.
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    }
  });

  test('dashboard: counts, queues, recent failures', async () => {
    const res = await s.get('/').expect(200);
    expect(res.text).toContain('Dashboard');
    expect(res.text).toMatch(/data-states="FAILURE">\d+</);
    expect(res.text).toContain(`${MOUNT}/tasks/${failedId}`);
    expect(res.text).toContain('<td>celery</td>');
  });

  test('tasks list escapes arguments and results', async () => {
    const res = await s.get('/tasks').expect(200);
    expect(res.text).not.toContain(XSS);
    expect(res.text).toContain(escapeHtml(JSON.stringify([XSS])));
    expect(res.text).toContain(`data-id="${xssId}"`);
  });

  test('tasks list filters, echoing the filter values escaped', async () => {
    const failures = await s.get('/tasks?state=FAILURE').expect(200);
    expect(failures.text).toContain(`data-id="${failedId}"`);
    expect(failures.text).not.toContain(`data-id="${xssId}"`);
    expect(failures.text).toContain('<option selected>FAILURE</option>');
    const nasty = await s.get(`/tasks?task=${encodeURIComponent('"><script>alert(1)</script>')}&window=1h`).expect(200);
    expect(nasty.text).not.toContain('<script>alert(1)</script>');
    expect(nasty.text).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(nasty.text).toMatch(/No tasks match these filters/);
  });

  test('tasks list: a bad filter is a 400 page naming it', async () => {
    const res = await s.get('/tasks?state=NO-PE').set('Accept', 'text/html').expect(400);
    expect(res.text).toContain('&#39;NO-PE&#39; is not a state');
  });

  test('tasks list pages with Older / Newest links', async () => {
    for (let i = 0; i < 55; i++) await app.sendTask('math.add', [i, 0], {}, { countdown: 600 });
    const first = await s.get('/tasks').expect(200);
    const older = /href="([^"]+cursor=[^"]+)">Older/.exec(first.text);
    expect(older).not.toBeNull();
    const second = await s.get(older![1].replace(/&amp;/g, '&').slice(MOUNT.length)).expect(200);
    expect(second.text).toContain('← Newest');
    expect(second.text).toContain('data-live="0"');
  });

  test('task detail: arguments, kwargs and result as escaped JSON; error and stack for failures', async () => {
    const res = await s.get(`/tasks/${xssId}`).expect(200);
    expect(res.text).not.toContain(XSS);
    expect(res.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const failed = await s.get(`/tasks/${failedId}`).expect(200);
    expect(failed.text).toContain('<strong id="error-type">RangeError</strong>');
    expect(failed.text).toContain('The traceback is hidden');
    const withStack = await s.get(`/tasks/${failedId}`).set('x-test-tracebacks', '1').expect(200);
    expect(withStack.text).toMatch(/<pre class="traceback" id="error-stack">RangeError: boom\n/);
    expect(withStack.text).toMatch(/data-action="retry"\s*>/);
  });

  test('an unknown task page is a 404 page', async () => {
    const res = await s.get('/tasks/does-not-exist').set('Accept', 'text/html').expect(404);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('Task does-not-exist does not exist.');
  });

  test('start-a-task form lists registered tasks and known queues; ?task= preselects', async () => {
    const res = await s.get('/tasks/new?task=math.add').expect(200);
    expect(res.text).toContain('<option selected data-params="a, b">math.add</option>');
    expect(res.text).toMatch(/<option( data-params="[^"]*")?>behave.progress<\/option>/);
    expect(res.text).toContain('<option value="celery">');
    expect(res.text).toContain('data-error-for="options.priority"');
  });

  test('workers page', async () => {
    const res = await s.get('/workers').expect(200);
    expect(res.text).toContain('<strong>pages-w@test</strong>');
    expect(res.text).toContain('>online</span>');
  });
});
