-- Instant wake-ups: every change that gives a node new work sends a NOTIFY on the channel
-- `guichet_wakeups`, delivered when its transaction commits (never for a rolled-back change,
-- and once per transaction for identical payloads). The payload names the loop to wake:
-- `jobs` (the job runner), `answers` (the answering loop), `mailboxes` (the watchers'
-- reconcile). Leases, sync times and sending states are not new work and stay quiet, so a
-- node's own bookkeeping never wakes the others. SQLite has no NOTIFY: nodes there poll.

CREATE FUNCTION guichet_wake(target TEXT) RETURNS VOID LANGUAGE SQL AS $$
    SELECT pg_notify('guichet_wakeups', target);
$$;

-- A job queued, or put back for another time.
CREATE FUNCTION guichet_wake_jobs() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.run_at IS DISTINCT FROM OLD.run_at THEN
        PERFORM guichet_wake('jobs');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER jobs_wake AFTER INSERT OR UPDATE OF run_at ON jobs
    FOR EACH ROW EXECUTE FUNCTION guichet_wake_jobs();

-- An answer scheduled, or rescheduled for another time (a retry, an employee's edit).
CREATE FUNCTION guichet_wake_answers() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'scheduled' AND (TG_OP = 'INSERT' OR OLD.state <> 'scheduled'
                                    OR NEW.due_at IS DISTINCT FROM OLD.due_at) THEN
        PERFORM guichet_wake('answers');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_wake AFTER INSERT OR UPDATE OF state, due_at ON outbox
    FOR EACH ROW EXECUTE FUNCTION guichet_wake_answers();

-- A mailbox added or removed, or its settings changed; what watchers write while they run
-- (their lease, the last sync and its error) is left out of the comparison.
CREATE FUNCTION guichet_wake_mailboxes() RETURNS TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE'
       OR to_jsonb(NEW) - 'lease_owner' - 'lease_until' - 'last_sync_at' - 'last_error'
          IS DISTINCT FROM
          to_jsonb(OLD) - 'lease_owner' - 'lease_until' - 'last_sync_at' - 'last_error' THEN
        PERFORM guichet_wake('mailboxes');
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER mailboxes_wake AFTER INSERT OR UPDATE OR DELETE ON mailboxes
    FOR EACH ROW EXECUTE FUNCTION guichet_wake_mailboxes();
