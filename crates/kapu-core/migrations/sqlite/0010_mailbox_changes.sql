-- Mailboxes as the send path holds them in memory: a change to who owns one, its name, its
-- key, its notice address or whether it is closed moves the change epoch. The folder
-- counters change with every message and are never taken from memory.
CREATE TRIGGER changes_mailboxes_update AFTER UPDATE OF kind, tenant_id, short_name, user_id, address, name, notify_email, public_key, closed_at ON mailboxes
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;

CREATE TRIGGER changes_mailboxes_delete AFTER DELETE ON mailboxes
BEGIN
    UPDATE change_epoch SET epoch = epoch + 1 WHERE id = 1;
END;
