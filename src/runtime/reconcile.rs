//! Which mailbox watchers to start and stop so that the running ones match the store (pure).

use std::collections::{HashMap, HashSet};

use crate::store::MailboxRow;

/// Why a watcher is told to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The mailbox is no longer in the store.
    Removed,
    /// Its settings changed: it starts again with the new ones once the old watcher has ended,
    /// so two watchers never sync one mailbox under the same lease.
    Changed,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub start: Vec<MailboxRow>,
    pub stop: Vec<(i64, StopReason)>,
}

/// Compares the mailboxes the store holds (`wanted`) with the watchers running (each with the
/// row it was started from) and those told to stop that have not ended yet (`stopping`).
pub fn changes(
    wanted: &[MailboxRow],
    running: &HashMap<i64, MailboxRow>,
    stopping: &HashSet<i64>,
) -> Changes {
    let mut changes = Changes::default();
    for mailbox in wanted {
        match running.get(&mailbox.id) {
            None if !stopping.contains(&mailbox.id) => changes.start.push(mailbox.clone()),
            None => {}
            Some(started_with) if !same_settings(started_with, mailbox) => {
                changes.stop.push((mailbox.id, StopReason::Changed));
            }
            Some(_) => {}
        }
    }
    let wanted_ids: HashSet<i64> = wanted.iter().map(|m| m.id).collect();
    let mut removed: Vec<i64> = running
        .keys()
        .filter(|id| !wanted_ids.contains(id))
        .copied()
        .collect();
    removed.sort_unstable();
    changes
        .stop
        .extend(removed.into_iter().map(|id| (id, StopReason::Removed)));
    changes
}

/// Whether a watcher started from `a` still does what `b` asks. The last sync time and error
/// are what watchers write, not what they read: they change after every pass; so does the
/// reconnect notice.
fn same_settings(a: &MailboxRow, b: &MailboxRow) -> bool {
    let settings = |m: &MailboxRow| MailboxRow {
        last_sync_at: None,
        last_error: None,
        reconnect_notice: Default::default(),
        ..m.clone()
    };
    settings(a) == settings(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::imap::Security;

    fn mailbox(id: i64, email: &str) -> MailboxRow {
        MailboxRow {
            id,
            shop_id: 1,
            shop_name: "boutique".into(),
            email: email.into(),
            imap_host: "imap.boutique.test".into(),
            imap_port: 993,
            imap_security: Security::Tls,
            accept_invalid_certs: false,
            username: email.into(),
            auth: crate::oauth::MailboxAuth::Password,
            password_sealed: vec![1, 2, 3],
            folders: vec!["INBOX".into()],
            delete_after_import: false,
            mark_as_read: false,
            smtp_host: "smtp.boutique.test".into(),
            smtp_port: 465,
            smtp_security: Security::Tls,
            contact_id: None,
            last_sync_at: None,
            last_error: None,
            reconnect_notice: Default::default(),
        }
    }

    fn running(rows: &[MailboxRow]) -> HashMap<i64, MailboxRow> {
        rows.iter().map(|m| (m.id, m.clone())).collect()
    }

    #[test]
    fn nothing_changes_when_the_store_matches_the_watchers() {
        let rows = [mailbox(1, "sav@a.test"), mailbox(2, "sav@b.test")];
        let changes = changes(&rows, &running(&rows), &HashSet::new());
        assert_eq!(changes, Changes::default());
    }

    #[test]
    fn added_mailboxes_start_and_removed_ones_stop() {
        let before = [mailbox(1, "sav@a.test"), mailbox(3, "sav@c.test")];
        let now = [mailbox(1, "sav@a.test"), mailbox(2, "sav@b.test")];
        let changes = changes(&now, &running(&before), &HashSet::new());
        assert_eq!(changes.start, vec![mailbox(2, "sav@b.test")]);
        assert_eq!(changes.stop, vec![(3, StopReason::Removed)]);
    }

    #[test]
    fn changed_settings_stop_the_watcher_to_restart_it() {
        let before = [mailbox(1, "sav@a.test"), mailbox(2, "sav@b.test")];
        let mut folders = mailbox(1, "sav@a.test");
        folders.folders.push("Archive".into());
        let mut password = mailbox(2, "sav@b.test");
        password.password_sealed = vec![9, 9];
        let changes = changes(&[folders, password], &running(&before), &HashSet::new());
        assert!(changes.start.is_empty());
        assert_eq!(
            changes.stop,
            vec![(1, StopReason::Changed), (2, StopReason::Changed)]
        );
    }

    #[test]
    fn a_new_sync_time_or_error_is_no_change() {
        let before = [mailbox(1, "sav@a.test")];
        let mut synced = mailbox(1, "sav@a.test");
        synced.last_sync_at = Some(1_790_000_000_000);
        synced.last_error = Some("connection refused".into());
        let changes = changes(&[synced], &running(&before), &HashSet::new());
        assert_eq!(changes, Changes::default());
    }

    #[test]
    fn a_changed_mailbox_starts_again_only_once_its_old_watcher_ended() {
        let mut changed = mailbox(1, "sav@a.test");
        changed.imap_port = 143;
        let stopping: HashSet<i64> = [1].into();
        let waiting = changes(std::slice::from_ref(&changed), &HashMap::new(), &stopping);
        assert_eq!(waiting, Changes::default());
        let ended = changes(
            std::slice::from_ref(&changed),
            &HashMap::new(),
            &HashSet::new(),
        );
        assert_eq!(ended.start, vec![changed]);
    }
}
