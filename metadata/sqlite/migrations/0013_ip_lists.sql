-- The cloud providers' address ranges that `unmogrowp iplists import` loads, for the
-- datacenter_ip rule (docs/attribution.md): one row a list, named after its provider
-- ("aws", "gcp", "azure") or its file, the prefixes as text, one CIDR a line. An import
-- replaces its list's row and takes the next revision: the processes that use the lists
-- read them again when COUNT(*) or MAX(revision) changes.
CREATE TABLE ip_lists (
    name        TEXT    NOT NULL PRIMARY KEY,
    prefixes    TEXT    NOT NULL,
    imported_at INTEGER NOT NULL, -- Unix microseconds
    revision    INTEGER NOT NULL
);
