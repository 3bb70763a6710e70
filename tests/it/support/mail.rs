//! Test mail: a simple builder, and realistic customer mail deterministic from an index.

/// Now as a `Date:` header value. Test mail is dated now: Guichet never answers mail written
/// days ago, so a fixed date would turn every answering test into a hand-over as time passes.
pub fn date_now() -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_string(&jiff::Timestamp::now())
        .expect("the current time prints as RFC 2822")
}

/// A valid RFC 5322 message with CRLF line endings, dated now.
pub fn sample_mail(
    from: &str,
    to: &str,
    subject: &str,
    body: &str,
    message_id: Option<&str>,
    extra_headers: &[(&str, &str)],
) -> Vec<u8> {
    let mut mail = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {}\r\n",
        date_now()
    );
    if let Some(id) = message_id {
        mail.push_str(&format!("Message-ID: <{id}>\r\n"));
    }
    for (name, value) in extra_headers {
        mail.push_str(&format!("{name}: {value}\r\n"));
    }
    mail.push_str("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    mail.push_str(&body.replace("\r\n", "\n").replace('\n', "\r\n"));
    mail.push_str("\r\n");
    mail.into_bytes()
}

const FIRST_NAMES: &[&str] = &[
    "Marie", "Jean", "Camille", "Lucas", "Emma", "Hugo", "Chloé", "Louis", "Olivia", "James",
    "Sophie", "Noah",
];
const LAST_NAMES: &[&str] = &[
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Smith", "Johnson", "Lefèvre", "Moreau",
    "Brown",
];

const FRENCH: &[(&str, &str)] = &[
    (
        "Où est ma commande {order} ?",
        "Bonjour,\n\nJ'ai passé la commande {order} il y a dix jours et je n'ai toujours rien reçu. Le suivi indique « en cours d'acheminement » depuis lundi.\nPouvez-vous vérifier auprès du transporteur ?\n\nMerci d'avance,\n{name}",
    ),
    (
        "Demande de remboursement commande {order}",
        "Bonjour,\n\nSuite au retour de mon colis (commande {order}), je n'ai pas encore été remboursée de 49,90 €. Le retour a été livré le 12.\nPourriez-vous me dire quand le remboursement sera effectué ?\n\nCordialement,\n{name}",
    ),
    (
        "Article abîmé",
        "Bonjour, la théière de ma commande {order} est arrivée avec le bec cassé. Je joins une photo. Je souhaite un échange svp.\n{name}",
    ),
    (
        "Changement d'adresse",
        "Bonjour,\nest-il encore possible de modifier l'adresse de livraison de la commande {order} ? Nouvelle adresse : 12 rue des Lilas, 69003 Lyon.\nBien à vous,\n{name}",
    ),
    (
        "Facture",
        "Bonjour, pouvez-vous m'envoyer la facture de la commande {order} au nom de ma société ? Merci. {name}",
    ),
];

const ENGLISH: &[(&str, &str)] = &[
    (
        "Where is my order {order}?",
        "Hi,\n\nI ordered {order} two weeks ago and it still hasn't arrived. The tracking page hasn't changed since Monday.\nCould you look into it?\n\nThanks,\n{name}",
    ),
    (
        "Cancel order {order}",
        "Hello, I placed order {order} by mistake this morning. Please cancel it before it ships. Regards, {name}",
    ),
    (
        "Wrong size received",
        "Hello,\n\nI received a size M instead of the L I ordered ({order}). How do I exchange it? Do I need to print a label?\n\nBest,\n{name}",
    ),
    (
        "Payment charged twice",
        "Hi, my card was charged twice for order {order} (2 x 35.00 EUR). Can you refund the duplicate?\n{name}",
    ),
];

/// A realistic customer email, deterministic from `i`: French or English, sometimes a reply with
/// quoted history, sometimes HTML alternative, sometimes a small attachment. Unique Message-ID.
pub fn realistic_mail(i: usize) -> Vec<u8> {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i / 7) % LAST_NAMES.len()];
    let name = format!("{first} {last}");
    let email = format!(
        "{}.{}{}@client{}.test",
        first.to_lowercase(),
        last.to_lowercase(),
        i % 97,
        i % 5
    )
    .replace(['é', 'è'], "e");
    let order = format!("#{}", 1000 + (i * 37) % 9000);
    let (subject, body) = if i.is_multiple_of(3) {
        ENGLISH[i % ENGLISH.len()]
    } else {
        FRENCH[i % FRENCH.len()]
    };
    let subject = subject.replace("{order}", &order);
    let mut text = body.replace("{order}", &order).replace("{name}", &name);
    let reply = i % 4 == 1 && i > 10;
    let mut headers = format!(
        "From: {name} <{email}>\r\nTo: Service client <sav@boutique.test>\r\nDate: Mon, {} Nov 2026 {:02}:{:02}:00 +0100\r\nMessage-ID: <rm-{i}@client.test>\r\nMIME-Version: 1.0\r\n",
        1 + i % 28,
        8 + i % 10,
        i % 60
    );
    let subject = if reply {
        headers.push_str(&format!(
            "In-Reply-To: <rm-{}@client.test>\r\nReferences: <rm-{}@client.test>\r\n",
            i - 4,
            i - 4
        ));
        text.push_str(&format!(
            "\n\nLe lun. 2 nov. 2026 à 10:00, Service client <sav@boutique.test> a écrit :\n> Bonjour {first},\n> Merci pour votre message, nous revenons vers vous rapidement.\n> Le service client\n"
        ));
        format!("RE: {subject}")
    } else {
        subject
    };
    headers.push_str(&format!("Subject: {}\r\n", encode_subject(&subject)));
    let text = text.replace('\n', "\r\n");
    let body = if i % 10 == 7 {
        let html = format!(
            "<html><body><p>{}</p></body></html>",
            text.replace("\r\n", "<br>\r\n")
        );
        format!(
            "Content-Type: multipart/alternative; boundary=\"alt{i}\"\r\n\r\n--alt{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n--alt{i}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{html}\r\n--alt{i}--\r\n"
        )
    } else if i % 25 == 3 {
        let photo: String = (0..40)
            .map(|k| format!("{:076}\r\n", (i * 7919 + k) % 1_000_000_007))
            .collect();
        format!(
            "Content-Type: multipart/mixed; boundary=\"mix{i}\"\r\n\r\n--mix{i}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n--mix{i}\r\nContent-Type: image/jpeg; name=\"photo{i}.jpg\"\r\nContent-Disposition: attachment; filename=\"photo{i}.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{photo}--mix{i}--\r\n"
        )
    } else {
        format!(
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
        )
    };
    (headers + &body).into_bytes()
}

/// Non-ASCII subjects as RFC 2047 encoded words, as mail clients send them.
fn encode_subject(subject: &str) -> String {
    if subject.is_ascii() {
        return subject.to_string();
    }
    let encoded: String = subject
        .bytes()
        .map(|b| match b {
            b' ' => "_".to_string(),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b',' | b'-' => (b as char).to_string(),
            other => format!("={other:02X}"),
        })
        .collect();
    format!("=?utf-8?q?{encoded}?=")
}
