-- Mailboxes as the send path holds them in memory: a change to who owns one, its name, its
-- key, its notice address or whether it is closed moves the change epoch. The folder
-- counters change with every message and are never taken from memory.
CREATE TRIGGER changes_mailboxes AFTER UPDATE OF kind, tenant_id, short_name, user_id, address, name, notify_email, public_key, closed_at OR DELETE ON mailboxes
    FOR EACH STATEMENT EXECUTE FUNCTION kapu_changed();
