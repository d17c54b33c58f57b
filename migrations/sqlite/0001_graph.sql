-- The graph: one row per item, its body the item as JSON; `meta` holds the
-- graph version. Databases made before migrations were versioned already
-- have these tables (and a `schema` row in `meta`, dropped here).
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS relations (id TEXT PRIMARY KEY, body TEXT NOT NULL);
DELETE FROM meta WHERE key = 'schema';
