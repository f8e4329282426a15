import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { AdminCheck } from '../common/admin-routes';
import { ADMIN_PATH, SOAP_CONTENT_TYPE } from '../common/contract';
import type { Logger } from '../common/logger';
import { fault, isServiceFault } from '../common/service-fault';
import { AdminApi } from './admin-api';
import { AdminSoap, adminSoap } from './admin-soap';
import { ClusterView } from './cluster-view';
import { ConsoleConfig } from './config';
import { sessionIdOf, Sessions } from './sessions';

/**
 * The console's HTTP face (express): the page and its assets (uPlot from node_modules, so it
 * works offline), the JSON API the page uses (same operations as the SOAP service), the live
 * feed over server-sent events, and the admin SOAP service at /admin.
 *   GET  /                     the page (public: it holds no data)
 *   POST /api/session          {"token": admin token} → session cookie
 *   GET  /api/events           SSE: `history` once, then `status` after every poll
 *   GET  /api/trace?id=…       a request's path through the tiers
 *   GET|PUT|DELETE /api/faults the fault-injection rules of every business server (PUT: the rules file's JSON)
 *   POST /api/control          {"server": "b2", "action": "stop"} (dev mode)
 *   POST /admin, GET /admin?wsdl
 */
export const PUBLIC_DIR = join(__dirname, '..', '..', 'console', 'public');
const UPLOT_DIR = dirname(require.resolve('uplot'));

export interface ConsoleServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function startConsoleServer(
  config: ConsoleConfig,
  view: ClusterView,
  api: AdminApi,
  auth: AdminCheck,
  logger: Logger,
): Promise<ConsoleServer> {
  const soap = await adminSoap(api, auth, config.bodyBytesMax, logger);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // The WSDL's soap:address needs the URL, known only once the server listens.
  let publicUrl = '';
  // Express runs routes in the order they are added: the public ones, then the session gate,
  // then what it guards, then 404.
  servePage(app);
  serveAdminSoap(app, soap, () => publicUrl);
  serveSessionGate(app, new Sessions(config.sessionsMax, config.sessionMs), auth);
  serveEvents(app, view, config.sseClientsMax);
  serveApi(app, api, config.bodyBytesMax);
  app.use((_req: express.Request, res: express.Response) => void res.status(404).json({ error: 'not found' }));

  const server = http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 }, app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const url = `http://${config.host}:${(server.address() as AddressInfo).port}/`;
  publicUrl = url.replace(/\/$/, '');
  return {
    url,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** The page and its assets (public: they hold no data). */
function servePage(app: express.Express): void {
  app.get('/', (_req, res) => {
    res.sendFile(join(PUBLIC_DIR, 'index.html'));
  });
  app.use('/static', express.static(PUBLIC_DIR, { index: false, fallthrough: false }));
  app.get('/vendor/uPlot.iife.min.js', (_req, res) => {
    res.sendFile(join(UPLOT_DIR, 'uPlot.iife.min.js'));
  });
  app.get('/vendor/uPlot.min.css', (_req, res) => {
    res.sendFile(join(UPLOT_DIR, 'uPlot.min.css'));
  });
}

/** The admin SOAP service: its WSDL (public) and its calls (each authenticated by the service itself). */
function serveAdminSoap(app: express.Express, soap: AdminSoap, publicUrl: () => string): void {
  app.get(ADMIN_PATH, (req, res) => {
    if (!/^wsdl$/i.test(Object.keys(req.query)[0] ?? ''))
      return void res.status(404).json({ error: 'GET /admin?wsdl for the contract; POST for calls' });
    res.type(SOAP_CONTENT_TYPE).send(soap.wsdl(`${publicUrl()}${ADMIN_PATH}`));
  });
  app.post(ADMIN_PATH, (req, res) => {
    soap.handle(req, res);
  });
}

/** Log-in with the admin token (a session cookie), and the gate every later /api route is behind. */
function serveSessionGate(app: express.Express, sessions: Sessions, auth: AdminCheck): void {
  app.post('/api/session', express.json({ limit: 4096 }), (req, res) => {
    const token = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || !auth.allows(`Bearer ${token}`))
      return void res.status(401).json({ error: 'wrong admin token' });
    res.setHeader('set-cookie', sessions.cookie(sessions.create(Date.now())));
    res.json({ ok: true });
  });
  // Everything else under /api needs a session or the bearer token.
  app.use('/api', (req, res, next) => {
    if (sessions.valid(sessionIdOf(req.headers.cookie), Date.now()) || auth.allows(req.headers.authorization)) {
      next();
      return;
    }
    res.status(401).json({ error: 'log in with the admin token' });
  });
  app.get('/api/whoami', (_req, res) => void res.json({ ok: true }));
}

/** The live feed (server-sent events): `history` once, then `point` and `status` after every poll. */
function serveEvents(app: express.Express, view: ClusterView, sseClientsMax: number): void {
  let sseClients = 0;
  app.get('/api/events', (req, res) => {
    if (sseClients >= sseClientsMax) return void res.status(503).json({ error: 'too many live consoles' });
    sseClients++;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (event: string, data: unknown): void =>
      void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('history', view.history());
    send('status', view.snapshot());
    const onUpdate = (snapshot: unknown, point: unknown): void => {
      send('point', point);
      send('status', snapshot);
    };
    view.on('update', onUpdate);
    req.on('close', () => {
      sseClients--;
      view.off('update', onUpdate);
    });
  });
}

/** The JSON API of the page: the same operations as the admin SOAP service. */
function serveApi(app: express.Express, api: AdminApi, bodyBytesMax: number): void {
  app.get('/api/trace', (req, res) => {
    void jsonOf(res, () => api.trace(typeof req.query.id === 'string' ? req.query.id : ''));
  });
  app.get('/api/faults', (_req, res) => {
    void jsonOf(res, () => api.faultRules());
  });
  app.put('/api/faults', express.json({ limit: bodyBytesMax }), (req, res) => {
    void jsonOf(res, () => api.setFaultRules(req.body));
  });
  app.delete('/api/faults', (_req, res) => {
    void jsonOf(res, () => api.clearFaultRules());
  });
  app.post('/api/control', express.json({ limit: 4096 }), (req, res) => {
    const body = (req.body ?? {}) as { server?: unknown; action?: unknown };
    void jsonOf(res, async () => ({
      message: await api.control(
        typeof body.server === 'string' ? body.server : '',
        typeof body.action === 'string' ? body.action : '',
      ),
    }));
  });
}

async function jsonOf(res: express.Response, work: () => Promise<unknown>): Promise<void> {
  try {
    res.json(await work());
  } catch (error) {
    const f = isServiceFault(error) ? error : fault('INTERNAL_ERROR', 'internal error in the console');
    res
      .status(
        f.code === 'NOT_AUTHORIZED' ? 403 : f.code === 'INTERNAL_ERROR' || f.code === 'SERVICE_UNAVAILABLE' ? 503 : 400,
      )
      .json({ code: f.code, message: f.message });
  }
}
