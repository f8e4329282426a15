// The distbank console: live over server-sent events (/api/events), charts with uPlot (served
// locally), traces through /api/trace. Plain browser JavaScript, no build step, no CDN.
'use strict';
(function () {
  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };
  const fmt = (v, digits = 1) => (v === undefined || v === null ? '–' : Number(v).toFixed(digits));
  const HISTORY_MAX = 300;
  let charts;
  let points = [];
  let businessNames = [];

  async function login(token) {
    const res = await fetch('/api/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token }),
    });
    return res.ok;
  }

  async function loggedIn() {
    return (await fetch('/api/whoami')).ok;
  }

  async function start() {
    const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (m) {
      await login(decodeURIComponent(m[1]));
      window.history.replaceState(null, '', location.pathname);
    }
    if (!(await loggedIn())) return showLogin();
    $('#login').hidden = true;
    $('#app').hidden = false;
    connect();
  }

  function showLogin() {
    $('#login').hidden = false;
    $('#login-form').onsubmit = async (ev) => {
      ev.preventDefault();
      if (await login($('#token').value)) {
        $('#token').value = '';
        start();
      } else $('#login-error').textContent = 'wrong admin token';
    };
  }

  function connect() {
    const source = new EventSource('/api/events');
    source.addEventListener('open', () => {
      $('#live').textContent = 'live';
      $('#live').className = 'badge';
    });
    source.addEventListener('error', () => {
      $('#live').textContent = 'reconnecting…';
      $('#live').className = 'badge off';
    });
    source.addEventListener('history', (ev) => {
      points = JSON.parse(ev.data).slice(-HISTORY_MAX);
      drawCharts();
    });
    source.addEventListener('point', (ev) => {
      points.push(JSON.parse(ev.data));
      if (points.length > HISTORY_MAX) points.shift();
      drawCharts();
    });
    source.addEventListener('status', (ev) => render(JSON.parse(ev.data)));
  }

  function render(s) {
    document.body.classList.toggle('devmode', s.devMode);
    $('#devmode').hidden = !s.devMode;
    const names = s.processes.filter((p) => p.tier === 'business').map((p) => p.name);
    if (names.join() !== businessNames.join()) {
      businessNames = names;
      charts = undefined;
      drawCharts();
    }
    renderTiers(s);
    renderLocks(s);
    renderFaults(s);
  }

  // Rows are made once per process and updated in place: a table rebuilt every second would
  // swallow a click whose mousedown and mouseup fall on either side of a rebuild.
  const tierRows = new Map();

  function tierRow(p, devMode) {
    let row = tierRows.get(p.name);
    if (row !== undefined && row.devMode === devMode) return row;
    const cells = {};
    const tr = el('tr', { 'data-name': p.name });
    for (const key of ['name', 'tier', 'state', 'rps', 'p50', 'p99', 'cpu', 'inflight', 'queue', 'faults']) {
      cells[key] = el('td', key === 'rps' ? { class: 'rps' } : {});
      tr.append(cells[key]);
    }
    cells.state.append(el('span', { class: 'state' }));
    const control = el('td', { class: 'dev' });
    if (p.tier === 'business' && devMode) {
      for (const action of ['stop', 'pause', 'resume', 'restart']) {
        const b = el('button', { 'data-action': action, text: action });
        b.onclick = () => controlServer(p.name, action);
        control.append(b, ' ');
      }
    }
    tr.append(control);
    row = { tr, cells, devMode };
    tierRows.set(p.name, row);
    return row;
  }

  function renderTiers(s) {
    const body = $('#tiers tbody');
    const rows = s.processes.map((p) => {
      const { tr, cells } = tierRow(p, s.devMode);
      tr.className = p.up ? 'up' : 'down';
      tr.title = p.error || p.url;
      cells.name.textContent = p.name;
      cells.tier.textContent = p.tier;
      const state = cells.state.firstChild;
      state.className = `state ${p.up ? 'up' : 'down'}`;
      state.textContent = p.up ? 'up' : 'down';
      cells.rps.textContent = fmt(p.requestsPerSecond);
      cells.p50.textContent = fmt(p.p50Ms);
      cells.p99.textContent = fmt(p.p99Ms);
      cells.cpu.textContent = fmt(p.cpuPercent, 0);
      cells.inflight.textContent = String(p.inFlight);
      cells.queue.textContent = p.queueDepth === undefined ? '–' : `${p.queueDepth} (${p.queueDepthMax})`;
      cells.faults.textContent = String(p.faultsPerMinute);
      cells.faults.title = JSON.stringify(p.faultsByCode);
      return tr;
    });
    if (rows.some((tr, i) => body.children[i] !== tr) || body.children.length !== rows.length)
      body.replaceChildren(...rows);
  }

  function renderLocks(s) {
    $('#locks-count').textContent = String(s.locksHeld);
    $('#locks tbody').replaceChildren(
      ...s.locks.map((l) =>
        el(
          'tr',
          {},
          el('td', { text: l.accounts.join(', ') }),
          el('td', { text: l.holder }),
          el('td', { text: l.fencingToken }),
          el('td', { text: `${(l.leaseLeftMs / 1000).toFixed(1)} s` }),
        ),
      ),
    );
    $('#waiters tbody').replaceChildren(
      ...s.waiters.map((w) => el('tr', {}, el('td', { text: w.accountId }), el('td', { text: String(w.waiters) }))),
    );
  }

  function renderFaults(s) {
    $('#faults tbody').replaceChildren(
      ...s.recentFaults.map((f) =>
        el(
          'tr',
          {},
          el('td', { text: new Date(f.atMs).toLocaleTimeString() }),
          el('td', { text: f.service }),
          el('td', { text: f.operation }),
          el('td', { text: f.outcome }),
          el('td', {}, traceLink(f.requestId)),
        ),
      ),
    );
  }

  function traceLink(id) {
    const a = el('a', { href: '#', text: id });
    a.onclick = (ev) => {
      ev.preventDefault();
      $('#trace-id').value = id;
      traceRequest(id);
    };
    return a;
  }

  async function controlServer(name, action) {
    $('#control-result').textContent = `${action} ${name}…`;
    const res = await fetch('/api/control', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server: name, action }),
    });
    const body = await res.json();
    $('#control-result').textContent = res.ok ? body.message : `${body.code}: ${body.message}`;
  }

  function chartData() {
    const t = points.map((p) => p.atMs / 1000);
    const rps = [
      t,
      points.map((p) => p.requestsPerSecond),
      ...businessNames.map((n) => points.map((p) => p.perBusiness[n] ?? null)),
    ];
    const latency = [t, points.map((p) => p.p50Ms), points.map((p) => p.p99Ms)];
    return { rps, latency };
  }

  const COLORS = ['#1565c0', '#6a1b9a', '#ef6c00', '#2e7d32', '#00838f', '#ad1457', '#4e342e'];

  function drawCharts() {
    if (typeof uPlot === 'undefined') return;
    const data = chartData();
    const width = Math.max(320, Math.floor(($('.charts').clientWidth - 40) / 2));
    if (charts === undefined) {
      $('#chart-rps').replaceChildren();
      $('#chart-latency').replaceChildren();
      const series = (label, i) => ({ label, stroke: COLORS[i % COLORS.length], width: 2 });
      charts = {
        rps: new uPlot(
          {
            width,
            height: 220,
            series: [{}, series('balancer', 0), ...businessNames.map((n, i) => series(n, i + 1))],
            axes: [{}, { label: 'req/s' }],
          },
          data.rps,
          $('#chart-rps'),
        ),
        latency: new uPlot(
          { width, height: 220, series: [{}, series('p50', 3), series('p99', 2)], axes: [{}, { label: 'ms' }] },
          data.latency,
          $('#chart-latency'),
        ),
      };
      return;
    }
    charts.rps.setData(data.rps);
    charts.latency.setData(data.latency);
  }

  function lane(service, kind) {
    if (kind === 'journal') return 'journal';
    if (service === 'balancer') return 'balancer';
    return service.startsWith('data') ? 'data' : 'business';
  }

  async function traceRequest(id) {
    const box = $('#trace');
    box.textContent = 'tracing…';
    const res = await fetch(`/api/trace?id=${encodeURIComponent(id)}`);
    const t = await res.json();
    if (!res.ok) {
      box.textContent = `${t.code}: ${t.message}`;
      return;
    }
    if (t.steps.length === 0) {
      box.textContent = `nothing known about ${id} (the rings keep recent operations only)`;
      return;
    }
    const t0 = t.steps[0].atMs;
    const rows = t.steps.map((s) =>
      el(
        'tr',
        { class: `lane-${lane(s.service, s.kind)}`, 'data-lane': lane(s.service, s.kind) },
        el('td', { text: `+${Math.round(s.atMs - t0)} ms` }),
        el('td', { text: s.service }),
        el('td', { text: s.kind }),
        el('td', { text: s.operation }),
        el('td', { text: s.outcome }),
        el('td', { text: `${Math.round(s.durationMs)} ms` }),
        el('td', { text: s.peer || '' }),
        el('td', { text: s.fencingToken || '' }),
        el('td', { text: s.transactionId || '' }),
        el('td', { text: (s.accounts || []).join(', ') }),
      ),
    );
    const journal = t.journal.map((j) =>
      el(
        'tr',
        { class: 'lane-journal', 'data-lane': 'journal' },
        el('td', { text: new Date(j.at).toLocaleTimeString() }),
        el('td', { text: 'journal' }),
        el('td', { text: j.kind }),
        el('td', { text: `account ${j.accountId}` }),
        el('td', { text: j.amount }),
        el('td', { text: `balance ${j.balanceAfter}` }),
        el('td', { text: '' }),
        el('td', { text: '' }),
        el('td', { text: j.transactionId }),
        el('td', { text: '' }),
      ),
    );
    const head = el(
      'tr',
      {},
      ...[
        'at',
        'process',
        'kind',
        'operation',
        'outcome',
        'duration',
        'peer',
        'fencing token',
        'transaction',
        'accounts',
      ].map((h) => el('th', { text: h })),
    );
    box.replaceChildren(
      el('p', {
        class: 'note',
        text: `trace id ${t.steps[0].traceId}${t.unreachable.length ? ` — not reachable: ${t.unreachable.join(', ')}` : ''}`,
      }),
      el('table', {}, el('thead', {}, head), el('tbody', {}, ...rows, ...journal)),
    );
  }

  $('#trace-form').onsubmit = (ev) => {
    ev.preventDefault();
    const id = $('#trace-id').value.trim();
    if (id) traceRequest(id);
  };
  window.addEventListener('resize', () => {
    charts = undefined;
    drawCharts();
  });
  start();
})();
