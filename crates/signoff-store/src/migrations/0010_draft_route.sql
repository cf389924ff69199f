-- Signoff workspace schema, version 10: which model actually wrote a draft and why the router
-- fell back from the models before it (issue 7: models.toml routes, remote models with the
-- offline drafter as the last fallback). Drafts stored before this version have ''.
-- Released migrations are never edited.
ALTER TABLE drafts ADD COLUMN route TEXT NOT NULL DEFAULT '';
