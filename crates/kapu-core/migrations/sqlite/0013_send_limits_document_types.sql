-- What each account sent per hour: counted in the filing's transaction before a send is
-- judged, so parallel sends each see the others. Rows older than a day are swept.
CREATE TABLE send_counts (
    user_id TEXT NOT NULL,
    hour BIGINT NOT NULL,
    sends BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    PRIMARY KEY (user_id, hour)
);
CREATE INDEX send_counts_hour ON send_counts (hour);

-- The document types an office accepts (besides the general letter every office takes).
-- An office without a list takes any type.
CREATE TABLE office_document_types (
    mailbox_id TEXT NOT NULL REFERENCES mailboxes (id),
    code TEXT NOT NULL,
    version TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL,
    position BIGINT NOT NULL,
    PRIMARY KEY (mailbox_id, code, version)
);

-- The send path keeps each office's list in memory: a change to it moves the change epoch.
CREATE TRIGGER changes_office_document_types_insert AFTER INSERT ON office_document_types
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_office_document_types_delete AFTER DELETE ON office_document_types
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;
