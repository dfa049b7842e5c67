// Helpers of the fault-injection suite: the per-scenario report line, the quick / full switch,
// and a TCP proxy that can be unplugged. (Waits are testkit/wait.ts's.)
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../../testkit/free-port.ts';

export const quick = process.env.FAULTS_QUICK === '1';

export interface ScenarioFigures {
  attempted: number;
  acknowledged: number;
  found: number;
  lost: number;
  [extra: string]: number | string;
}

/** One line per scenario, the figures the README's durability section quotes. */
export function report(scenario: string, figures: ScenarioFigures): void {
  const extra = Object.entries(figures).filter(([k]) => !['attempted', 'acknowledged', 'found', 'lost'].includes(k))
    .map(([k, v]) => `${k}=${v}`).join(' ');
  console.log(`      [faults] ${scenario}: attempted=${figures.attempted} acknowledged=${figures.acknowledged} found=${figures.found} lost=${figures.lost}${extra ? ` ${extra}` : ''}`);
}

/** A TCP proxy on a fixed port that can be unplugged (refuse and cut connections) and plugged again. */
export async function startPlug(targetPort: number) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const plug = () => new Promise<void>((resolve, reject) => {
    server = createServer((client) => {
      const upstream = createConnection({ port: targetPort, host: '127.0.0.1' });
      for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => {}); }
      client.pipe(upstream).pipe(client);
    });
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const unplug = async () => {
    const closing = server;
    server = null;
    for (const s of sockets) s.destroy();
    if (closing) await new Promise<void>((resolve) => closing.close(() => resolve()));
  };
  await plug();
  return { port, plug, unplug };
}

