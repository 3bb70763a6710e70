//! Sample mail for `guichet demo`: a French and English customer-service week in miniature,
//! filed through the same parse → threading → store path as real mail.

use crate::intake::sync::prepare_message;
use crate::store::{FileOutcome, NewContact, Shop, Store, StoreError};

pub const DEMO_SHOP: &str = "demo";

struct Sample {
    message_id: &'static str,
    from: &'static str,
    subject: &'static str,
    /// When it was written, before the demo runs: recent, so answering considers it.
    hours_ago: i64,
    extra_headers: &'static str,
    body: &'static str,
}

const SAMPLES: &[Sample] = &[
    Sample {
        message_id: "demo-1@client.example",
        from: "Marie Dupont <marie.dupont@client.example>",
        subject: "Où est ma commande XKBKNABJK ?",
        hours_ago: 50,
        extra_headers: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        body: "Bonjour,\r\n\r\nJ'ai commandé une théière le 9 novembre (commande XKBKNABJK) et je n'ai toujours rien reçu.\r\nPouvez-vous me dire où en est la livraison ?\r\n\r\nMerci d'avance,\r\nMarie Dupont\r\n",
    },
    Sample {
        message_id: "demo-2@client.example",
        from: "John Smith <john.smith@client.example>",
        subject: "Mug arrived broken",
        hours_ago: 48,
        extra_headers: "Content-Type: multipart/mixed; boundary=\"b1\"\r\n",
        body: "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello,\r\n\r\nMy order #1047 came today but the blue mug is cracked. Photo attached.\r\nCould you send a new one or refund me?\r\n\r\nThanks,\r\nJohn\r\n--b1\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"mug.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\r\n--b1--\r\n",
    },
    Sample {
        message_id: "demo-3@client.example",
        from: "Marie Dupont <marie.dupont@client.example>",
        subject: "RE : Où est ma commande XKBKNABJK ?",
        hours_ago: 26,
        extra_headers: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n",
        body: "Je précise que le numéro de suivi Colissimo est 6A12345678901.\r\n\r\nLe lun. 16 nov. 2026 à 09:12, Marie Dupont <marie.dupont@client.example> a écrit :\r\n> Bonjour,\r\n> J'ai commandé une théière le 9 novembre (commande XKBKNABJK)\r\n",
    },
    Sample {
        message_id: "demo-4@client.example",
        from: "John Smith <john.smith@client.example>",
        subject: "Re: [#1002] Mug arrived broken",
        hours_ago: 24,
        extra_headers: "Content-Type: text/plain; charset=us-ascii\r\n",
        body: "A replacement would be perfect, thank you!\r\n\r\nOn Mon, 16 Nov 2026 at 10:40, John Smith <john.smith@client.example> wrote:\r\n> Hello,\r\n> My order #1047 came today but the blue mug is cracked.\r\n",
    },
    Sample {
        message_id: "demo-5@client.example",
        from: "=?iso-8859-1?q?Ren=E9e_Martin?= <renee.martin@client.example>",
        subject: "=?iso-8859-1?q?Facture_de_ma_commande_n=B0_1051?=",
        hours_ago: 6,
        extra_headers: "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        body: "Bonjour,\r\n\r\nPourriez-vous m'envoyer la facture de ma commande n=B0 1051 ? Mon comptable la r=E9clame.\r\n\r\nBien =E0 vous,\r\nRen=E9e Martin\r\n",
    },
    Sample {
        message_id: "demo-6@client.example",
        from: "Paul Durand <paul.durand@client.example>",
        subject: "Re: [#1002] Mug arrived broken",
        hours_ago: 4,
        extra_headers: "Content-Type: text/plain; charset=utf-8\r\n",
        body: "Bonjour, j'ai le même souci que ce ticket : mon vase est arrivé fêlé. Commande #1049.\r\n",
    },
    Sample {
        message_id: "demo-7@client.example",
        from: "Emma Brown <emma.brown@client.example>",
        subject: "Change of delivery address",
        hours_ago: 1,
        extra_headers: "Content-Type: text/html; charset=utf-8\r\n",
        body: "<html><body><p>Hi,</p><p>Could you ship order <b>#1052</b> to my office instead?<br>12 Baker Street, London NW1 6XE.</p><p>Best,<br>Emma</p></body></html>\r\n",
    },
];

fn raw_sample(sample: &Sample) -> Vec<u8> {
    let written = time::OffsetDateTime::now_utc() - time::Duration::hours(sample.hours_ago);
    let date = written
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    format!(
        "From: {}\r\nTo: Service client <sav@boutique.example>\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{}>\r\nMIME-Version: 1.0\r\n{}\r\n{}",
        sample.from, sample.subject, sample.message_id, sample.extra_headers, sample.body
    )
    .into_bytes()
}

/// The demo shop, created with its contact the first time.
pub async fn demo_shop(store: &Store) -> Result<Shop, StoreError> {
    let shop = match store.shop_by_name(DEMO_SHOP).await {
        Ok(shop) => shop,
        Err(StoreError::NotFound(_)) => {
            let shop = store.add_shop(DEMO_SHOP).await?;
            let contact = NewContact {
                name: "Service client".into(),
                email: "sav@boutique.example".into(),
                description: "Questions sur les commandes / order questions".into(),
                customer_service: true,
            };
            store.add_contact(shop.id, &contact).await?;
            shop
        }
        Err(e) => return Err(e),
    };
    Ok(shop)
}

/// Files the sample mail into the demo shop. Running it again files nothing new.
pub async fn file_samples(store: &Store, shop: &Shop) -> Result<FileOutcome, StoreError> {
    let contact_id = store.contacts(shop.id).await?.first().map(|c| c.id);
    let triager = store.shop_triager(shop.id).await?;
    let mut outcome = FileOutcome::default();
    // One message per batch, in date order, as they would arrive.
    for sample in SAMPLES {
        let incoming = prepare_message(raw_sample(sample), store.blobs(), &triager).await?;
        outcome += store
            .file_batch(shop.id, None, contact_id, None, &[incoming])
            .await?;
    }
    Ok(outcome)
}
