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
    void refreshFaultRules();
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

  // ---- fault injection: the rules of every business server, through /api/faults (the same
  // operations as SetFaultRules / GetFaultRules / ClearFaultRules). A rule switched off here is
  // kept in this page only (the servers hold the rules that are on), so it can be switched on again.
  const FAULT_REFRESH_MS = 3000;
  let faultSeed = 0;
  let pageRules = []; // [{ rule, on }]
  let faultJsonDirty = false;
  let faultRulesKey = '';

  async function faultCall(method, body) {
    const res = await fetch('/api/faults', {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(`${answer.code}: ${answer.message}`);
    return answer;
  }

  function describeFires(r) {
    const parts = [];
    if (r.probability !== undefined) parts.push(`p ${r.probability}`);
    if (r.every !== undefined) parts.push(`every ${r.every}`);
    if (r.count !== undefined) parts.push(`at most ${r.count}×`);
    return parts.length ? parts.join(', ') : 'always';
  }

  function describeParameters(r) {
    const parts = [];
    if (r.delayMs !== undefined) parts.push(`delay ${Array.isArray(r.delayMs) ? r.delayMs.join('–') : r.delayMs} ms`);
    if (r.distribution !== undefined) parts.push(r.distribution);
    if (r.code !== undefined) parts.push(r.code);
    if (r.durationMs !== undefined) parts.push(`${r.durationMs} ms`);
    return parts.join(', ');
  }

  function renderFaultTable() {
    $('#fault-rules tbody').replaceChildren(
      ...pageRules.map((p, i) => {
        const box = el('input', { type: 'checkbox', 'aria-label': `rule ${i} on` });
        box.checked = p.on;
        box.onchange = () => switchRule(i, box.checked);
        const r = p.rule;
        return el(
          'tr',
          { class: p.on ? 'on' : 'disabled', 'data-rule': String(i) },
          el('td', {}, box),
          el('td', { text: String(i) }),
          el('td', { text: r.operation }),
          el('td', { text: r.clientId || '' }),
          el('td', { text: r.accountId || '' }),
          el('td', { text: describeFires(r) }),
          el('td', { text: r.action }),
          el('td', { text: describeParameters(r) }),
        );
      }),
    );
  }

  function renderFaultRules(state) {
    const badge = $('#fault-state');
    badge.textContent = state.faultInjection ? `on: ${pageRules.filter((p) => p.on).length} rules` : 'off';
    badge.className = `badge ${state.faultInjection ? 'on' : 'off'}`;
    $('#fault-form').hidden = !state.faultInjection;
    // Rebuilt only when the rules change: a table rebuilt under the pointer would swallow a click.
    const key = JSON.stringify(pageRules);
    if (key !== faultRulesKey) {
      faultRulesKey = key;
      renderFaultTable();
    }
    const injected = state.servers
      .map(
        (s) =>
          `${s.server}: ${
            Object.entries(s.injected)
              .map(([a, n]) => `${a} ${n}`)
              .join(', ') || 'none'
          }`,
      )
      .join(' · ');
    const same = state.servers.every((s) => JSON.stringify(s.rules) === JSON.stringify(state.servers[0].rules));
    const missing = state.unreachable.length ? ` — not reachable: ${state.unreachable.join(', ')}` : '';
    $('#fault-injected').textContent = state.faultInjection
      ? `injected since the rules were set — ${injected}${same ? '' : ' — the servers hold different rules'}${missing}`
      : missing
        ? `no rules known${missing}`
        : 'the bank was started without --faults: no rules can be set';
    if (!faultJsonDirty && document.activeElement !== $('#fault-json'))
      $('#fault-json').value = JSON.stringify({
        seed: faultSeed,
        rules: pageRules.filter((p) => p.on).map((p) => p.rule),
      });
  }

  async function refreshFaultRules() {
    let state;
    try {
      state = await faultCall('GET');
    } catch (error) {
      $('#fault-injected').textContent = String(error.message);
      return;
    }
    const first = state.servers[0];
    faultSeed = first ? first.seed : 0;
    const active = first ? first.rules : [];
    const off = pageRules.filter((p) => !p.on && !active.some((r) => JSON.stringify(r) === JSON.stringify(p.rule)));
    pageRules = [...active.map((rule) => ({ rule, on: true })), ...off];
    renderFaultRules(state);
  }

  async function setFaultRules(body, what) {
    $('#fault-result').textContent = `${what}…`;
    let said;
    try {
      const r = body === undefined ? await faultCall('DELETE') : await faultCall('PUT', body);
      said = `${what}: done on ${r.servers.join(', ')}`;
    } catch (error) {
      said = String(error.message);
    }
    await refreshFaultRules(); // the table first, then the word that it is done
    $('#fault-result').textContent = said;
    return said.startsWith(`${what}: done`);
  }

  async function switchRule(i, on) {
    const wanted = pageRules.map((p, j) => (j === i ? { ...p, on } : p));
    const body = { seed: faultSeed, rules: wanted.filter((p) => p.on).map((p) => p.rule) };
    const before = pageRules;
    pageRules = wanted; // so that the refresh keeps a rule switched off
    if (!(await setFaultRules(body, `rule ${i} ${on ? 'on' : 'off'}`))) pageRules = before;
  }

  $('#fault-json').oninput = () => {
    faultJsonDirty = true;
  };
  $('#fault-form').onsubmit = async (ev) => {
    ev.preventDefault();
    let body;
    try {
      body = JSON.parse($('#fault-json').value);
    } catch (error) {
      $('#fault-result').textContent = `not JSON: ${error.message}`;
      return;
    }
    pageRules = [];
    if (await setFaultRules(body, 'set rules')) faultJsonDirty = false;
  };
  $('#fault-clear').onclick = async () => {
    pageRules = [];
    faultJsonDirty = false;
    await setFaultRules(undefined, 'clear all');
  };
  setInterval(() => {
    if (!$('#app').hidden) void refreshFaultRules();
  }, FAULT_REFRESH_MS);

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
