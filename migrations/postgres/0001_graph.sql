-- The graph as every instance rebuilds it: one row per item, its body the
-- item as JSON. Ids sort bytewise (COLLATE "C"), the order the graph is
-- built in.
CREATE TABLE documents (
    id text COLLATE "C" PRIMARY KEY,
    body json NOT NULL
);

CREATE TABLE entities (
    id text COLLATE "C" PRIMARY KEY,
    body json NOT NULL
);

-- A relation's ends must exist: the database, not only an instance's
-- memory, keeps relations off deleted entities. Checked statement by
-- statement (a write puts entities before the relations on them, and
-- deletes relations before their entities), so a large write's commit
-- does not check them all at once.
CREATE TABLE relations (
    id text COLLATE "C" PRIMARY KEY,
    from_id text COLLATE "C" NOT NULL REFERENCES entities (id),
    to_id text COLLATE "C" NOT NULL REFERENCES entities (id),
    body json NOT NULL
);
CREATE INDEX relations_from_id ON relations (from_id);
CREATE INDEX relations_to_id ON relations (to_id);

-- The graph version: one row, locked by every writing transaction for its
-- whole length, so versions are handed out one transaction at a time and
-- commit in the order they were handed out.
CREATE TABLE graph_version (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    version bigint NOT NULL CHECK (version >= 0)
);
INSERT INTO graph_version (version) VALUES (0);

-- Every write, by the version it produced: what instances replay to follow
-- each other. A large write (an import) is kept in parts of a bounded size.
CREATE TABLE change_log (
    version bigint NOT NULL CHECK (version > 0),
    part integer NOT NULL CHECK (part >= 0),
    changes json NOT NULL,
    committed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (version, part)
);
