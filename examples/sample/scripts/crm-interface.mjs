// Stand-in for the new CRM's integration endpoint. `start` runs it in the background on
// $SAMPLE_CRM_PORT (default 47811) and returns once it answers; `stop` ends it.
// Endpoints: GET /health, POST /sync/on, POST /sync/off, GET /customers/:id (from data/crm.db).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import Database from 'better-sqlite3';

const port = Number(process.env.SAMPLE_CRM_PORT ?? 47811);
const pidFile = 'data/crm-interface.pid';
const command = process.argv[2];

if (command === 'start') {
  stopRunning();
  const child = spawn(process.execPath, [process.argv[1], 'serve'], { detached: true, stdio: 'ignore' });
  child.unref();
  writeFileSync(pidFile, String(child.pid));
  for (let i = 0; i < 100; i += 1) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) {
        console.log(`CRM interface up on port ${port} (pid ${child.pid})`);
        process.exit(0);
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(`CRM interface did not answer on port ${port}; is the port taken? set SAMPLE_CRM_PORT`);
  process.exit(1);
} else if (command === 'stop') {
  console.log(stopRunning() ? 'CRM interface stopped' : 'CRM interface was not running');
} else if (command === 'serve') {
  let sync = 'off';
  const crm = new Database('data/crm.db', { readonly: true });
  http
    .createServer((req, res) => {
      const send = (status, body) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/health') return send(200, { status: 'ok', sync });
      if (req.method === 'POST' && req.url === '/sync/on') return send(200, { sync: (sync = 'on') });
      if (req.method === 'POST' && req.url === '/sync/off') return send(200, { sync: (sync = 'off') });
      const match = /^\/customers\/(\d+)$/.exec(req.url ?? '');
      if (match) {
        const row = crm.prepare('SELECT * FROM customers WHERE id = ?').get(Number(match[1]));
        return row ? send(200, row) : send(404, { error: 'no such customer' });
      }
      send(404, { error: 'not found' });
    })
    .listen(port, '127.0.0.1');
} else {
  console.error('usage: crm-interface.mjs start|stop');
  process.exit(2);
}

function stopRunning() {
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  rmSync(pidFile, { force: true });
  try {
    process.kill(pid, 'SIGTERM');
    return true;
  } catch {
    return false;
  }
}
