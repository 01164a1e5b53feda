"""The store's schema, versioned with PRAGMA user_version and migrated on open."""

from __future__ import annotations

import sqlite3

V1 = """
CREATE TABLE assistants (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    instruction TEXT NOT NULL DEFAULT '',
    temperature REAL,
    max_tokens INTEGER,
    keep_last_messages INTEGER,
    prompt_token_budget INTEGER,
    created_at REAL NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE threads (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    assistant_id INTEGER REFERENCES assistants(id) ON DELETE SET NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    ttl_days INTEGER,
    expiration_policy TEXT NOT NULL DEFAULT 'static'
);
CREATE INDEX threads_by_activity ON threads(updated_at DESC, id DESC);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    assistant_id INTEGER REFERENCES assistants(id) ON DELETE SET NULL,
    model_uri TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    input_tokens INTEGER,
    completion_tokens INTEGER,
    total_tokens INTEGER,
    model_version TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    first_chunk_s REAL,
    tokens_per_s REAL,
    owner_pid INTEGER  -- the process streaming it: only a dead owner's run is "interrupted"
);
CREATE INDEX runs_by_thread ON runs(thread_id);
CREATE INDEX runs_by_status ON runs(status);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL
);
CREATE INDEX messages_by_thread ON messages(thread_id, id);
CREATE INDEX messages_by_run ON messages(run_id);
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
-- The index follows the text only when it settles: a streaming answer is
-- rewritten many times a second and is indexed once, when it stops streaming.
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.status != 'streaming' BEGIN
    INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.status != 'streaming' BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, status ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text)
        SELECT 'delete', old.id, old.text WHERE old.status != 'streaming';
    INSERT INTO messages_fts(rowid, text)
        SELECT new.id, new.text WHERE new.status != 'streaming';
END;
"""

# Runs are owned through a lock file, not a pid (the OS reuses pids; runs.owner_pid
# is left unused); each run records how its prompt was fitted and how the answer
# ended; each message caches its token count.
V2 = """
ALTER TABLE runs ADD COLUMN owner_lock TEXT;  -- the lock file its streaming process holds
ALTER TABLE runs ADD COLUMN answered_by TEXT;  -- the model that answered, e.g. the local model's name
ALTER TABLE runs ADD COLUMN finish_reason TEXT;  -- FINAL, TRUNCATED_FINAL, CONTENT_FILTER ...
ALTER TABLE runs ADD COLUMN prompt_tokens INTEGER;  -- the fitted prompt, as tokenized before sending
ALTER TABLE runs ADD COLUMN prompt_budget INTEGER;  -- the most tokens the prompt could have
ALTER TABLE runs ADD COLUMN omitted_messages INTEGER;  -- older messages not sent to the model
ALTER TABLE runs ADD COLUMN first_sent_message_id INTEGER;  -- the oldest message that was sent
ALTER TABLE messages ADD COLUMN token_count INTEGER;  -- tokens of this message alone, for token_model
ALTER TABLE messages ADD COLUMN token_model TEXT;
UPDATE assistants SET prompt_token_budget = 7000 WHERE prompt_token_budget IS NULL;
"""

# Models are reached over gRPC or the OpenAI-compatible chat API, and some reason:
# an assistant may name its transport and reasoning mode; an answer keeps its
# reasoning (searchable, never sent back to the model) and its run the count.
V3 = """
ALTER TABLE assistants ADD COLUMN transport TEXT;  -- grpc | http; NULL: the model catalogue decides
ALTER TABLE assistants ADD COLUMN reasoning_mode TEXT;  -- low|medium|high (http), enabled_hidden (grpc)
ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN reasoning_tokens INTEGER;
ALTER TABLE runs ADD COLUMN transport TEXT;
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, reasoning, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
-- 'rebuild' took streaming rows too, which the triggers below never index.
INSERT INTO messages_fts(messages_fts, rowid, text, reasoning)
    SELECT 'delete', id, text, reasoning FROM messages WHERE status = 'streaming';
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.status != 'streaming' BEGIN
    INSERT INTO messages_fts(rowid, text, reasoning) VALUES (new.id, new.text, new.reasoning);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.status != 'streaming' BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text, reasoning)
        VALUES ('delete', old.id, old.text, old.reasoning);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, reasoning, status ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, text, reasoning)
        SELECT 'delete', old.id, old.text, old.reasoning WHERE old.status != 'streaming';
    INSERT INTO messages_fts(rowid, text, reasoning)
        SELECT new.id, new.text, new.reasoning WHERE new.status != 'streaming';
END;
"""

# Knowledge: the files an assistant answers from, chunked and indexed for BM25
# (heading paths weigh double), and the passages each run was given.
V4 = """
CREATE TABLE kb_roots (
    id INTEGER PRIMARY KEY,
    assistant_id INTEGER NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    path TEXT NOT NULL,  -- a file or folder the user added, absolute
    added_at REAL NOT NULL,
    UNIQUE (assistant_id, path)
);
CREATE TABLE kb_files (
    id INTEGER PRIMARY KEY,
    assistant_id INTEGER NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    root_id INTEGER NOT NULL REFERENCES kb_roots(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,  -- NULL for a file skipped before it was read
    kind TEXT NOT NULL,  -- markdown | text | code | html | pdf
    skipped TEXT,  -- why it is not indexed; NULL when it is
    chunks INTEGER NOT NULL DEFAULT 0,
    indexed_at REAL NOT NULL,
    UNIQUE (assistant_id, path)
);
CREATE INDEX kb_files_by_root ON kb_files(root_id);
CREATE TABLE kb_chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES kb_files(id) ON DELETE CASCADE,
    heading TEXT NOT NULL DEFAULT '',  -- the heading path, "Install › Linux"
    line_start INTEGER NOT NULL,  -- 1-based, inclusive; pages for a PDF
    line_end INTEGER NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX kb_chunks_by_file ON kb_chunks(file_id);
CREATE VIRTUAL TABLE kb_chunks_fts USING fts5(
    heading, text, content='kb_chunks', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO kb_chunks_fts(kb_chunks_fts, rank) VALUES ('rank', 'bm25(2.0, 1.0)');
CREATE VIRTUAL TABLE kb_vocab USING fts5vocab(kb_chunks_fts, 'row');
-- kb_vocab, copied after each indexing: counting a word's chunks in kb_vocab reads all its
-- postings (ms for a common word), a query needs the counts of a dozen words in microseconds.
CREATE TABLE kb_terms (term TEXT PRIMARY KEY, docs INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER kb_chunks_fts_insert AFTER INSERT ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts(rowid, heading, text) VALUES (new.id, new.heading, new.text);
END;
CREATE TRIGGER kb_chunks_fts_delete AFTER DELETE ON kb_chunks BEGIN
    INSERT INTO kb_chunks_fts(kb_chunks_fts, rowid, heading, text)
        VALUES ('delete', old.id, old.heading, old.text);
END;
-- A copy, not a reference: the answer keeps its sources after the file changes or goes.
CREATE TABLE run_sources (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    number INTEGER NOT NULL,  -- the [n] the model was told to cite
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    heading TEXT NOT NULL,
    line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL,
    text TEXT NOT NULL,
    score REAL,
    PRIMARY KEY (run_id, number)
);
"""

# Dense vectors of knowledge chunks for hybrid retrieval: one per chunk and embedding model
# (the cloud's and the local server's vectors do not compare), unit length, float32.
V5 = """
CREATE TABLE kb_vectors (
    embedder TEXT NOT NULL,
    chunk_id INTEGER NOT NULL REFERENCES kb_chunks(id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    PRIMARY KEY (embedder, chunk_id)
) WITHOUT ROWID;
CREATE INDEX kb_vectors_by_chunk ON kb_vectors(chunk_id);
"""

# A run is a sequence of typed parts: text, reasoning, tool calls and their results,
# notices. An answer of text alone (every answer before tools, most after) has no part
# rows: it reads as its reasoning and its text. `messages.text` stays the answer's text
# (its text parts joined), so search and the pane's fast path read one row; tool
# output is out of the message search. An assistant names the MCP servers and tools
# it may use, and keeps the user's "always" answers per tool.
V6 = """
CREATE TABLE message_parts (
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    kind TEXT NOT NULL,  -- text | reasoning | tool_call | tool_result | notice
    text TEXT NOT NULL DEFAULT '',  -- the text; a tool result's output (after any cut)
    call_id TEXT,  -- tool_call, tool_result: the call they belong to
    tool TEXT,
    server TEXT,  -- the MCP server, or 'yachat' for built-in tools
    arguments TEXT,  -- tool_call: the arguments as JSON text
    -- tool_call: streaming | awaiting_approval | running | done | failed | denied | timed_out
    -- | cancelled | skipped
    status TEXT,
    is_error INTEGER NOT NULL DEFAULT 0,  -- tool_result
    duration_s REAL,  -- tool_result: how long the tool ran
    truncated_tokens INTEGER NOT NULL DEFAULT 0,  -- tool_result: tokens left out by the output limit
    PRIMARY KEY (message_id, position)
) WITHOUT ROWID;
ALTER TABLE messages ADD COLUMN part_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE assistants ADD COLUMN tools TEXT;  -- JSON list of 'server' or 'server/tool' it may use; NULL: all
CREATE TABLE tool_permissions (
    assistant_id INTEGER NOT NULL REFERENCES assistants(id) ON DELETE CASCADE,
    tool TEXT NOT NULL,  -- 'server/tool'
    decision TEXT NOT NULL,  -- allow | deny
    PRIMARY KEY (assistant_id, tool)
) WITHOUT ROWID;
"""

# The Responses API keeps each response (30 days) for `previous_response_id`: a run
# over it records the response its answer ended with, where that response lives
# (API base and folder), what the assistant's instruction and tools were, and how much
# of the thread it covered, so the next run can send only what is new, or see that it
# cannot (another endpoint, a changed assistant, an edited thread) and send it all.
V7 = """
CREATE TABLE run_responses (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    thread_id INTEGER NOT NULL REFERENCES threads(id) ON DELETE CASCADE,
    response_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,  -- the API base and the folder: 'https://…/v1|b1g…'
    fingerprint TEXT NOT NULL,  -- the model, the instruction and the tools, hashed
    answer_id INTEGER NOT NULL,  -- the answer message the response ends with
    covered INTEGER NOT NULL,  -- the thread's messages up to the answer, when it was stored
    context_tokens INTEGER  -- what the chain holds: the response's input and output tokens
);
CREATE INDEX run_responses_by_thread ON run_responses(thread_id, run_id);
-- Tools Yandex runs for an assistant over the Responses API, JSON: its web search
-- ({enabled, domains, region, context_size}) and its remote MCP servers
-- ([{label, url, headers, require_approval}]). NULL: none.
ALTER TABLE assistants ADD COLUMN web_search TEXT;
ALTER TABLE assistants ADD COLUMN remote_mcp TEXT;
"""

# An assistant's knowledge copied to a vector store of Yandex's cloud (or a local server's), for
# the Responses API's file_search: where the store lives, and each file as uploaded (its bytes' hash,
# so a push sends only what changed; its file id, so a citation maps back to the local path).
V8 = """
CREATE TABLE cloud_copies (
    assistant_id INTEGER PRIMARY KEY REFERENCES assistants(id) ON DELETE CASCADE,
    vector_store_id TEXT NOT NULL,
    endpoint TEXT NOT NULL,  -- the API's base URL the store lives at
    folder_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    pushed_at REAL  -- when the last push finished; NULL while the first is under way
);
CREATE TABLE cloud_copy_files (
    assistant_id INTEGER NOT NULL REFERENCES cloud_copies(assistant_id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    file_id TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    uploaded_at REAL NOT NULL,
    PRIMARY KEY (assistant_id, path)
) WITHOUT ROWID;
CREATE INDEX cloud_copy_files_by_file_id ON cloud_copy_files(file_id);
"""

MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V7, V8]

# Run on the reading connection once the schema is current. In `temp`, so nothing is
# written to the store: the terms of the message index, one row per occurrence, read
# only a row or two at a time (search asks which terms a typed prefix stands for).
READER_SETUP = [
    "CREATE VIRTUAL TABLE temp.message_terms USING fts5vocab(main, messages_fts, 'instance')",
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the newest version; returns the version reached.

    The version is read inside a write transaction, so two yachat processes
    opening a new store at the same moment migrate it once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise sqlite3.DatabaseError(
                f"the store was written by a newer yachat (schema {version}); upgrade yachat"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit mid-transaction)."""
    out, current = [], ""
    for line in script.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            out.append(current.strip())
            current = ""
    return out
