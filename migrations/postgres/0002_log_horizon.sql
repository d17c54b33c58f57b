-- How far the change log has been pruned: every version up to `pruned_to`
-- may be gone from it. An instance that has applied less than that cannot
-- follow the log any more and must start again from a snapshot; it learns
-- so from this row, read in the same statement as the log, rather than
-- mistaking a pruned stretch for no news. A table of its own, so that
-- pruning never waits on, or holds up, the version row that writers lock.
CREATE TABLE log_horizon (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_to bigint NOT NULL DEFAULT 0 CHECK (pruned_to >= 0)
);
INSERT INTO log_horizon DEFAULT VALUES;
