import { hostname } from 'node:os';

/**
 * True when `owner` (a worker id `host:pid:…`, possibly inside a longer holder string) names a
 * process on this machine that no longer exists, so what it held can be taken over at once.
 */
export function holderIsGone(owner: string | null | undefined): boolean {
  if (!owner) return true;
  const [host, pid] = owner.split(':');
  if (host !== hostname() || !/^\d+$/.test(pid ?? '')) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
