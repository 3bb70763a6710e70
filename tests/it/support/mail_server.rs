//! A throwaway mail system on free loopback ports, started once per test process in a temp dir:
//! Dovecot (IMAP, IMAPS with a self-signed certificate, LMTP, and submission with AUTH over
//! STARTTLS relaying to Postfix) and Postfix (plain SMTP, no auth, delivering every recipient
//! via LMTP into that Dovecot), with passwd-file users handed out per test. The same users sign
//! in with OAuth2 too (SASL XOAUTH2, OAUTHBEARER): Dovecot's `oauth2` passdb asks the test
//! authorization server ([`FakeOAuth`]) whether the token is active and whose it is.
//!
//! Both run in the foreground as children of a thread of the test process, with
//! PR_SET_PDEATHSIG, so they stop when the tests end, however they end.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::os::unix::fs::chown;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::fakes::oauth::FakeOAuth;

pub struct MailServer {
    pub dir: PathBuf,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// Postfix: plain SMTP, no auth, relays every recipient into Dovecot over LMTP. Refuses
    /// at RCPT TO the local parts listed in [`MailServer::REFUSED_RECIPIENT`] and
    /// [`MailServer::DEFERRED_RECIPIENT`].
    pub smtp_port: u16,
    /// Postfix again, requiring a fully qualified host name in HELO/EHLO (refused at RCPT TO
    /// otherwise), as many real servers do.
    pub strict_helo_port: u16,
    /// Dovecot submission: STARTTLS (self-signed certificate), AUTH PLAIN/LOGIN with the test
    /// mailboxes' passwords, relaying to `smtp_port`.
    pub submission_port: u16,
    /// Dovecot LMTP, where Postfix delivers.
    pub lmtp_port: u16,
    config: PathBuf,
    dovecot_uid: u32,
    dovecot_gid: u32,
}

#[derive(Debug, Clone)]
pub struct TestMailbox {
    pub email: String,
    pub password: String,
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn system_user(name: &str) -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.first() == Some(&name))
                .then(|| (fields[2].parse().unwrap(), fields[3].parse().unwrap()))
        })
        .unwrap_or_else(|| panic!("no `{name}` system user: run scripts/install-test-deps"))
}

static SHARED: OnceLock<MailServer> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);
const MAILBOXES: usize = 300;

fn pool_email(n: usize) -> String {
    format!("box{n}@shop.test")
}

fn pool_password(n: usize) -> String {
    format!("pw-{n}-{:x}", n.wrapping_mul(0x9e37_79b9) ^ 0x5bd1)
}

/// Runs `command` as a child of a thread that lives as long as this process; PR_SET_PDEATHSIG
/// stops it when the test process ends, however it ends. Panics when it cannot be run.
pub(super) fn spawn_for_this_process(mut command: Command, what: &'static str) {
    command.stdout(Stdio::null()).stderr(Stdio::null());
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    keep_while_this_process_lives(command, what);
}

/// Spawns `command` from a thread that parks forever holding the child (and its stdin pipe),
/// so the child lives as long as this process. Panics when it cannot be run.
fn keep_while_this_process_lives(mut command: Command, what: &'static str) {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let child = command.spawn();
        sender
            .send(child.as_ref().map(|_| ()).map_err(|e| e.to_string()))
            .unwrap();
        if let Ok(_child) = child {
            loop {
                std::thread::park();
            }
        }
    });
    if let Err(e) = receiver.recv().unwrap() {
        panic!("cannot run {what} ({e}): run scripts/install-test-deps");
    }
}

/// Runs Postfix's master daemon in the foreground under a shell that stops it when its stdin,
/// a pipe held by this process, closes: when the tests end, however they end. (The master
/// changes its effective ids, which clears PR_SET_PDEATHSIG, so that cannot be relied on.)
fn spawn_postfix_master(master: &Path, config: &Path) {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#""$0" -d -c "$1" </dev/null & pid=$!; while read -r _; do :; done; kill -TERM "$pid"; wait "$pid""#)
        .arg(master)
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    keep_while_this_process_lives(command, "postfix");
}

/// Where the `master` daemon is, asked of Postfix with our configuration (the system's may
/// not exist: Debian installs Postfix unconfigured here).
fn postfix_daemon_directory(config: &Path) -> PathBuf {
    let output = Command::new("postconf")
        .arg("-c")
        .arg(config)
        .args(["-h", "daemon_directory"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run postconf ({e}): run scripts/install-test-deps"));
    PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
}

/// Postfix's own configuration directory under `dir`: SMTP on `smtp_port`, every recipient
/// relayed by LMTP to Dovecot on `lmtp_port`. Returns the configuration directory.
fn write_postfix_config(
    dir: &Path,
    (smtp_port, strict_helo_port): (u16, u16),
    lmtp_port: u16,
) -> PathBuf {
    let p = dir.join("postfix");
    for sub in ["conf", "spool", "data"] {
        std::fs::create_dir_all(p.join(sub)).unwrap();
    }
    let (postfix_uid, _) = system_user("postfix");
    chown(p.join("data"), Some(postfix_uid), None).unwrap();
    let pd = p.display();
    // Recipients refused at RCPT TO, so tests see a refusal before DATA (permanent, temporary).
    std::fs::write(
        p.join("conf/recipient_access"),
        format!(
            "/^{}@/ 550 5.1.1 mailbox unavailable\n/^{}@/ 450 4.2.1 mailbox busy, try again later\n",
            MailServer::REFUSED_RECIPIENT,
            MailServer::DEFERRED_RECIPIENT
        ),
    )
    .unwrap();
    // Postfix exits silently without maillog_file_prefixes covering its log file's directory.
    std::fs::write(
        p.join("conf/main.cf"),
        format!(
            "compatibility_level = 3.6\nmyhostname = mx.shop.test\nmydomain = shop.test\n\
             queue_directory = {pd}/spool\ndata_directory = {pd}/data\n\
             maillog_file = {pd}/postfix.log\nmaillog_file_prefixes = {pd}\n\
             inet_interfaces = loopback-only\ninet_protocols = ipv4\n\
             mydestination =\nlocal_recipient_maps =\nmynetworks = 127.0.0.0/8\n\
             smtpd_relay_restrictions = permit_mynetworks, reject\n\
             smtpd_recipient_restrictions = check_recipient_access regexp:{pd}/conf/recipient_access, permit\n\
             relay_transport = lmtp:inet:127.0.0.1:{lmtp_port}\n\
             default_transport = lmtp:inet:127.0.0.1:{lmtp_port}\n\
             smtputf8_enable = yes\nqueue_run_delay = 1s\n\
             minimal_backoff_time = 1s\nmaximal_backoff_time = 5s\n"
        ),
    )
    .unwrap();
    std::fs::write(
        p.join("conf/master.cf"),
        format!(
            "127.0.0.1:{smtp_port} inet n - n - - smtpd\n\
             127.0.0.1:{strict_helo_port} inet n - n - - smtpd\n  -o smtpd_helo_required=yes\n\
             \x20 -o smtpd_helo_restrictions=reject_non_fqdn_helo_hostname\n{}",
            POSTFIX_SERVICES
        ),
    )
    .unwrap();
    p.join("conf")
}

/// master.cf beyond the SMTP listener: the services Postfix needs, none chrooted.
const POSTFIX_SERVICES: &str = "\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
";

impl MailServer {
    /// A folder Dovecot marks `\Sent` (RFC 6154 special use) once it exists: a name no client
    /// guesses, so finding it proves the special use was read.
    pub const SPECIAL_USE_SENT: &'static str = "Messages envoyés";
    /// The same name as IMAP spells it (modified UTF-7).
    pub const SPECIAL_USE_SENT_UTF7: &'static str = "Messages envoy&AOk-s";

    /// Local part Postfix refuses at RCPT TO with 550 (e.g. `refused@shop.test`).
    pub const REFUSED_RECIPIENT: &'static str = "refused";
    /// Local part Postfix refuses at RCPT TO with 450.
    pub const DEFERRED_RECIPIENT: &'static str = "busy";

    /// Postfix's log, to explain a delivery that did not arrive.
    pub fn postfix_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postfix/postfix.log")).unwrap_or_default()
    }

    /// Dovecot's log: which SASL mechanism each sign-in used (`Login: user=<…>, method=…`).
    pub fn dovecot_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
    }

    /// The server of this test process, started on first use. Panics (never skips) when it
    /// cannot start, with Dovecot's log.
    pub fn shared() -> &'static MailServer {
        SHARED.get_or_init(MailServer::start)
    }

    fn start() -> MailServer {
        let dir = std::env::temp_dir().join(format!(
            "guichet-mail-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        for sub in ["run", "state", "home"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // Mail processes run as `dovecot`: every parent must be traversable by it.
        for path in [&dir, &dir.join("home")] {
            std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
        }
        let (dovecot_uid, dovecot_gid) = system_user("dovecot");
        chown(dir.join("home"), Some(dovecot_uid), Some(dovecot_gid)).unwrap();
        // Every test mailbox exists from the start: Dovecot notices a passwd-file change by
        // its mtime, which misses several changes within one second.
        let users: String = (0..MAILBOXES)
            .map(|n| format!("{}:{{PLAIN}}{}::::::\n", pool_email(n), pool_password(n)))
            .collect();
        std::fs::write(dir.join("passwd"), users).unwrap();
        let openssl = Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
                "-keyout",
            ])
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem"))
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed (scripts/install-test-deps)");
        assert!(openssl.success(), "openssl could not make a certificate");

        let (imap_port, imaps_port) = (free_port(), free_port());
        let (smtp_port, submission_port, lmtp_port) = (free_port(), free_port(), free_port());
        let strict_helo_port = free_port();
        let d = dir.display();
        // RFC 7662 introspection; a password that is not the user's is tried as a token.
        std::fs::write(
            dir.join("oauth2.conf.ext"),
            format!(
                "introspection_mode = post\nintrospection_url = {}\n\
                 username_attribute = username\nactive_attribute = active\nactive_value = true\n",
                FakeOAuth::shared().introspection_url()
            ),
        )
        .unwrap();
        let config = dir.join("dovecot.conf");
        std::fs::write(
            &config,
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\ninstance_name = guichet-test-{pid}\nlog_path = {d}/dovecot.log\n\
                 protocols = imap lmtp submission\nlisten = 127.0.0.1\nssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
                 disable_plaintext_auth = no\nauth_mechanisms = plain login xoauth2 oauthbearer\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/passwd\n}}\n\
                 passdb {{\n  driver = oauth2\n  args = {d}/oauth2.conf.ext\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/home/%u\n}}\n\
                 mail_location = maildir:~/Maildir\nfirst_valid_uid = 1\n\
                 service imap-login {{\n  inet_listener imap {{\n    port = {imap_port}\n  }}\n  inet_listener imaps {{\n    port = {imaps_port}\n    ssl = yes\n  }}\n}}\n\
                 service pop3-login {{\n  inet_listener pop3 {{\n    port = 0\n  }}\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
                 service submission-login {{\n  inet_listener submission {{\n    port = {submission_port}\n  }}\n}}\n\
                 service lmtp {{\n  unix_listener lmtp {{\n    mode = 0600\n  }}\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp_port}\n  }}\n}}\n\
                 protocol imap {{\n  mail_max_userip_connections = 100\n}}\n\
                 hostname = localhost\nsubmission_relay_host = 127.0.0.1\nsubmission_relay_port = {smtp_port}\n\
                 submission_relay_trusted = yes\nlmtp_save_to_detail_mailbox = no\n\
                 namespace inbox {{\n  inbox = yes\n  mailbox \"{sent}\" {{\n    special_use = \\Sent\n  }}\n}}\n",
                sent = MailServer::SPECIAL_USE_SENT,
                pid = std::process::id()
            ),
        )
        .unwrap();

        let postfix_config = write_postfix_config(&dir, (smtp_port, strict_helo_port), lmtp_port);
        // `postfix check` creates the queue directories with their owners and modes.
        let check = Command::new("postfix")
            .arg("-c")
            .arg(&postfix_config)
            .arg("check")
            .output()
            .unwrap_or_else(|e| panic!("cannot run postfix ({e}): run scripts/install-test-deps"));
        assert!(
            check.status.success(),
            "postfix check failed: {}{}",
            String::from_utf8_lossy(&check.stderr),
            String::from_utf8_lossy(&check.stdout)
        );

        let mut dovecot = Command::new("dovecot");
        dovecot.arg("-F").arg("-c").arg(&config);
        spawn_for_this_process(dovecot, "dovecot");
        // The master daemon in the foreground (`-d`): `postfix start` would detach it, and
        // nothing would stop it when the tests end.
        spawn_postfix_master(
            &postfix_daemon_directory(&postfix_config).join("master"),
            &postfix_config,
        );

        let deadline = Instant::now() + Duration::from_secs(30);
        for (port, what) in [
            (imap_port, "Dovecot IMAP"),
            (imaps_port, "Dovecot IMAPS"),
            (submission_port, "Dovecot submission"),
            (lmtp_port, "Dovecot LMTP"),
            (smtp_port, "Postfix SMTP"),
            (strict_helo_port, "Postfix SMTP (strict HELO)"),
        ] {
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                if Instant::now() > deadline {
                    let dovecot_log =
                        std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default();
                    let postfix_log = std::fs::read_to_string(dir.join("postfix/postfix.log"))
                        .unwrap_or_default();
                    panic!(
                        "{what} did not start on port {port}:\n--- dovecot.log\n{dovecot_log}\n--- postfix.log\n{postfix_log}"
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        MailServer {
            dir,
            imap_port,
            imaps_port,
            smtp_port,
            strict_helo_port,
            submission_port,
            lmtp_port,
            config,
            dovecot_uid,
            dovecot_gid,
        }
    }

    /// A mailbox of the test's own. `purpose` names it in the harness log.
    pub fn new_mailbox(&self, purpose: &str) -> TestMailbox {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        assert!(
            n < MAILBOXES,
            "more than {MAILBOXES} test mailboxes: raise MAILBOXES"
        );
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("mailboxes.log"))
            .map(|mut f| writeln!(f, "{} {purpose}", pool_email(n)));
        TestMailbox {
            email: pool_email(n),
            password: pool_password(n),
        }
    }

    fn maildir(&self, mailbox: &TestMailbox, folder: &str) -> PathBuf {
        let root = self.dir.join("home").join(&mailbox.email).join("Maildir");
        if folder.eq_ignore_ascii_case("INBOX") {
            root
        } else {
            root.join(format!(".{folder}"))
        }
    }

    fn make_owned_dir(&self, path: &Path) {
        let mut missing = Vec::new();
        let mut current = path.to_path_buf();
        while !current.exists() {
            missing.push(current.clone());
            current = current.parent().unwrap().to_path_buf();
        }
        std::fs::create_dir_all(path).unwrap();
        for dir in missing {
            chown(&dir, Some(self.dovecot_uid), Some(self.dovecot_gid)).unwrap();
        }
    }

    /// Writes messages straight into the folder's Maildir: the fast way to seed thousands.
    pub fn seed_maildir(
        &self,
        mailbox: &TestMailbox,
        folder: &str,
        messages: impl IntoIterator<Item = Vec<u8>>,
    ) {
        let root = self.maildir(mailbox, folder);
        for sub in ["cur", "new", "tmp"] {
            self.make_owned_dir(&root.join(sub));
        }
        if !folder.eq_ignore_ascii_case("INBOX") {
            let subscriptions = root.parent().unwrap().join("subscriptions");
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&subscriptions)
                .unwrap();
            writeln!(file, "{folder}").unwrap();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for (i, raw) in messages.into_iter().enumerate() {
            let name = format!(
                "{now}.M{i}P{}R{}.guichet,S={}:2,",
                std::process::id(),
                rand::random::<u32>(),
                raw.len()
            );
            let path = root.join("cur").join(name);
            std::fs::write(&path, &raw).unwrap();
            chown(&path, Some(self.dovecot_uid), Some(self.dovecot_gid)).unwrap();
        }
    }

    /// APPENDs one message over IMAP (creating the folder when needed), as a mail client would.
    pub fn append(&self, mailbox: &TestMailbox, folder: &str, raw: &[u8]) {
        let mut session = RawImap::login(self.imap_port, mailbox);
        if !folder.eq_ignore_ascii_case("INBOX") {
            let _ = session.command(&format!("CREATE \"{folder}\""));
        }
        session.append(folder, raw);
        let _ = session.command("LOGOUT");
    }

    /// APPENDs to the INBOX of `mailbox` a plain-text mail from `from`, with a Message-ID.
    pub fn append_mail(
        &self,
        mailbox: &TestMailbox,
        from: &str,
        subject: &str,
        body: &str,
        message_id: &str,
    ) {
        let raw = super::sample_mail(from, &mailbox.email, subject, body, Some(message_id), &[]);
        self.append(mailbox, "INBOX", &raw);
    }

    /// Messages in a folder not flagged \Seen, read from the Maildir file names.
    pub fn unseen_count(&self, mailbox: &TestMailbox, folder: &str) -> usize {
        self.maildir_files(mailbox, folder)
            .iter()
            .filter(|path| {
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                let flags = name.rsplit_once(":2,").map(|(_, f)| f).unwrap_or_default();
                !flags.contains('S')
            })
            .count()
    }

    /// Messages in a folder, read straight from its Maildir (independent of any IMAP client).
    pub fn maildir_messages(&self, mailbox: &TestMailbox, folder: &str) -> Vec<Vec<u8>> {
        self.maildir_files(mailbox, folder)
            .iter()
            .filter_map(|path| std::fs::read(path).ok())
            .collect()
    }

    /// The message files of a folder's Maildir (`new` and `cur`), sorted.
    fn maildir_files(&self, mailbox: &TestMailbox, folder: &str) -> Vec<PathBuf> {
        let root = self.maildir(mailbox, folder);
        let mut paths: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(root.join(sub)).into_iter().flatten())
            .flatten()
            .map(|entry| entry.path())
            .collect();
        paths.sort();
        paths
    }

    /// IMAP connections the server has open for `mailbox` (`doveadm who`), seen from the
    /// server side: whether a client still watches it.
    pub fn imap_connections(&self, mailbox: &TestMailbox) -> usize {
        let output = self.doveadm(&["who", "-1", &mailbox.email]);
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| line.split_whitespace().next() == Some(mailbox.email.as_str()))
            .filter(|line| line.contains("imap"))
            .count()
    }

    /// Makes the server renumber the folder, as after a restore or a migration.
    pub fn set_uid_validity(&self, mailbox: &TestMailbox, folder: &str, value: u32) {
        let value = value.to_string();
        self.doveadm(&[
            "mailbox",
            "update",
            "-u",
            &mailbox.email,
            "--uid-validity",
            &value,
            folder,
        ]);
    }

    /// `doveadm ARGS` on this server; panics with its error output when it fails.
    fn doveadm(&self, args: &[&str]) -> std::process::Output {
        let output = Command::new("doveadm")
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("doveadm runs");
        assert!(
            output.status.success(),
            "doveadm {} failed: {}",
            args[..2].join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

/// A minimal blocking IMAP client for seeding mailboxes; independent of the code under test.
struct RawImap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    tag: usize,
}

impl RawImap {
    fn login(port: u16, mailbox: &TestMailbox) -> RawImap {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the test Dovecot");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut session = RawImap {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            tag: 0,
        };
        let mut greeting = String::new();
        session.reader.read_line(&mut greeting).unwrap();
        session
            .command(&format!(
                "LOGIN \"{}\" \"{}\"",
                mailbox.email, mailbox.password
            ))
            .expect("test login");
        session
    }

    fn read_until_tagged(&mut self, tag: &str) -> Result<(), String> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return Err("connection closed".into());
            }
            if let Some(rest) = line.strip_prefix(&format!("{tag} ")) {
                return if rest.starts_with("OK") {
                    Ok(())
                } else {
                    Err(line)
                };
            }
        }
    }

    fn command(&mut self, command: &str) -> Result<(), String> {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        write!(self.writer, "{tag} {command}\r\n").unwrap();
        self.read_until_tagged(&tag)
    }

    fn append(&mut self, folder: &str, raw: &[u8]) {
        self.tag += 1;
        let tag = format!("t{}", self.tag);
        write!(
            self.writer,
            "{tag} APPEND \"{folder}\" {{{}}}\r\n",
            raw.len()
        )
        .unwrap();
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        assert!(line.starts_with('+'), "APPEND refused: {line}");
        self.writer.write_all(raw).unwrap();
        self.writer.write_all(b"\r\n").unwrap();
        self.read_until_tagged(&tag).expect("APPEND accepted");
    }
}
