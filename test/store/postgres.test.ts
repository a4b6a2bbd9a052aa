import { after } from 'node:test';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import { describeStoreConformance } from './conformance.ts';
import { dropSchema, PG_URL, uniqueSchema } from './pg-schema.ts';

const schema = uniqueSchema('conf');
after(() => dropSchema(schema));

const open = () => createPostgresStore({ url: PG_URL, schema, poolSize: 4 });

describeStoreConformance('postgres', open, { reopen: async () => open() });
