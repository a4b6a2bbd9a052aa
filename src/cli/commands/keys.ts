import type { Command } from 'commander';
import { createApiKey, listApiKeys, revokeApiKey, ROLES, type Role } from '../../server/api-keys.ts';
import { WardenError } from '../../core/errors.ts';
import { openStore, STORE_HELP } from '../open-store.ts';
import { printJson } from '../output.ts';

export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('API keys for the server: each has a role and the tenants it may see');
  keys
    .command('create')
    .description('Create a key and print its secret once (only a hash is stored)')
    .requiredOption('--name <name>', 'who or what uses it')
    .requiredOption('--role <role>', ROLES.join(' | '))
    .option('--tenant <name...>', 'tenants it may see and act for (default: all)')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { name: string; role: string; tenant?: string[]; db?: string; json?: boolean }) => {
      if (!ROLES.includes(opts.role as Role)) throw new WardenError('INVALID_ARGUMENT', `--role must be one of ${ROLES.join(', ')}`);
      const store = await openStore(opts.db);
      try {
        const { key, secret } = await createApiKey(store, { name: opts.name, role: opts.role as Role, tenants: opts.tenant ?? ['*'] });
        if (opts.json) printJson({ ...key, secret });
        else process.stdout.write(`${key.id}  ${key.role}  tenants ${key.tenants.join(', ')}\nsecret (shown once): ${secret}\n`);
      } finally {
        await store.close();
      }
    });
  keys
    .command('list')
    .option('--db <path|url>', STORE_HELP)
    .option('--json')
    .action(async (opts: { db?: string; json?: boolean }) => {
      const store = await openStore(opts.db);
      try {
        const list = await listApiKeys(store);
        if (opts.json) printJson(list);
        else
          process.stdout.write(
            list.map((k) => `${k.id}  ${k.name.padEnd(16)} ${k.role.padEnd(10)} ${k.tenants.join(',')}${k.revokedAt ? '  REVOKED' : ''}`).join('\n') +
              (list.length ? '\n' : 'No keys.\n'),
          );
      } finally {
        await store.close();
      }
    });
  keys
    .command('revoke')
    .argument('<id>')
    .option('--db <path|url>', STORE_HELP)
    .action(async (id: string, opts: { db?: string }) => {
      const store = await openStore(opts.db);
      try {
        const key = await revokeApiKey(store, id);
        process.stdout.write(`${key.id} revoked\n`);
      } finally {
        await store.close();
      }
    });
}
