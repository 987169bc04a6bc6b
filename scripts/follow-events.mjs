// A profile's live events over a WebSocket, one JSON line each, for scripts (the pages use the same events
// as Server-Sent Events):  npm run events -- http://localhost:5000/p/nick.tat [API token]
import WebSocket from 'ws';

const [base, token] = process.argv.slice(2);
if (!base) {
  process.stderr.write('usage: npm run events -- <profile URL, e.g. http://localhost:5000/p/nick.tat> [API token]\n');
  process.exit(64);
}
const url = new URL('api/events', base.endsWith('/') ? base : `${base}/`);
url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
ws.on('message', (data) => process.stdout.write(`${data}\n`));
ws.on('unexpected-response', (_req, res) => {
  process.stderr.write(`refused: ${res.statusCode} ${res.statusMessage}\n`);
  process.exit(1);
});
ws.on('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
ws.on('close', () => process.exit(0));
