-- pgbench script: the shape of partnergraph's write transaction on
-- PostgreSQL (src/store/postgres/write.rs) for one createEntity, run on a
-- fresh partnergraph database (its tables made by the migration): lock the
-- version row, upsert the entity, append to the log, bump the counter and
-- notify, commit. Six round trips with -M prepared, against one for
-- pg_floor.sql. Meant for 1 client: more would queue on the row lock.
BEGIN;
SELECT version FROM graph_version FOR UPDATE;
INSERT INTO entities (id, body) SELECT i, b::json FROM unnest(ARRAY[gen_random_uuid()::text], ARRAY['{"id":"bench-floor","kind":"ARMED_FORCE","name":"Bench Force floor","aliases":[],"sources":[{"document":"k24-peshmerga-us-iraq-talks","quote":"including the Asayish and Peshmerga"}],"attributes":{}}']) AS t(i, b) ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body;
WITH counter AS (UPDATE graph_version SET version = version + 1 RETURNING version), logged AS (INSERT INTO change_log (version, part, changes) SELECT version, 0, '[{"PutEntity":{"id":"bench-floor"}}]'::json FROM counter) SELECT pg_notify('partnergraph_log', version::text) FROM counter;
COMMIT;
