-- pgbench script: PostgreSQL's own floor for one-row write transactions
-- (autocommit: one INSERT is one transaction), a body the size of a
-- created entity's.
INSERT INTO floor (id, body) VALUES (gen_random_uuid()::text, '{"id":"bench-floor","kind":"ARMED_FORCE","name":"Bench Force floor","aliases":[],"sources":[{"document":"k24-peshmerga-us-iraq-talks","quote":"including the Asayish and Peshmerga"}],"attributes":{}}');
