//! The reply templates every shop starts with, written for Guichet in French (vouvoiement) and
//! English. `product_question`, `complaint` and `other` have none on purpose: they need a
//! person.
//!
//! Each template handles every context it can meet: with or without the customer's name, with
//! or without order data, with or without missing information.

use super::templates::{Need, ReplyTemplate, WhenComplete};

/// The shipped templates, one per intent and language.
pub fn shipped_templates() -> Vec<ReplyTemplate> {
    SHIPPED
        .iter()
        .map(|shipped| ReplyTemplate {
            intent: shipped.intent.to_string(),
            lang: shipped.lang.to_string(),
            needs: shipped.needs.to_vec(),
            when_complete: shipped.when_complete,
            needs_order_data: shipped.needs_order_data,
            body: shipped.body.to_string(),
        })
        .collect()
}

struct Shipped {
    intent: &'static str,
    lang: &'static str,
    needs: &'static [Need],
    when_complete: WhenComplete,
    needs_order_data: bool,
    body: &'static str,
}

const ORDER: &[Need] = &[Need::OrderRef];
const ORDER_AND_ADDRESS: &[Need] = &[Need::OrderRef, Need::NewAddress];
const ORDER_AND_PHOTO: &[Need] = &[Need::OrderRef, Need::Photo];

const SHIPPED: &[Shipped] = &[
    Shipped {
        intent: "order_status",
        lang: "fr",
        needs: ORDER,
        when_complete: WhenComplete::Answer,
        needs_order_data: true,
        body: ORDER_STATUS_FR,
    },
    Shipped {
        intent: "order_status",
        lang: "en",
        needs: ORDER,
        when_complete: WhenComplete::Answer,
        needs_order_data: true,
        body: ORDER_STATUS_EN,
    },
    Shipped {
        intent: "return_exchange",
        lang: "fr",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: RETURN_EXCHANGE_FR,
    },
    Shipped {
        intent: "return_exchange",
        lang: "en",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: RETURN_EXCHANGE_EN,
    },
    Shipped {
        intent: "refund",
        lang: "fr",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: REFUND_FR,
    },
    Shipped {
        intent: "refund",
        lang: "en",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: REFUND_EN,
    },
    Shipped {
        intent: "cancel_order",
        lang: "fr",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: CANCEL_ORDER_FR,
    },
    Shipped {
        intent: "cancel_order",
        lang: "en",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: CANCEL_ORDER_EN,
    },
    Shipped {
        intent: "change_order",
        lang: "fr",
        needs: ORDER_AND_ADDRESS,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: CHANGE_ORDER_FR,
    },
    Shipped {
        intent: "change_order",
        lang: "en",
        needs: ORDER_AND_ADDRESS,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: CHANGE_ORDER_EN,
    },
    Shipped {
        intent: "damaged_or_wrong_item",
        lang: "fr",
        needs: ORDER_AND_PHOTO,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: DAMAGED_FR,
    },
    Shipped {
        intent: "damaged_or_wrong_item",
        lang: "en",
        needs: ORDER_AND_PHOTO,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: DAMAGED_EN,
    },
    Shipped {
        intent: "invoice",
        lang: "fr",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: INVOICE_FR,
    },
    Shipped {
        intent: "invoice",
        lang: "en",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: INVOICE_EN,
    },
    Shipped {
        intent: "account",
        lang: "fr",
        needs: &[],
        when_complete: WhenComplete::Answer,
        needs_order_data: false,
        body: ACCOUNT_FR,
    },
    Shipped {
        intent: "account",
        lang: "en",
        needs: &[],
        when_complete: WhenComplete::Answer,
        needs_order_data: false,
        body: ACCOUNT_EN,
    },
    Shipped {
        intent: "payment_issue",
        lang: "fr",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: PAYMENT_ISSUE_FR,
    },
    Shipped {
        intent: "payment_issue",
        lang: "en",
        needs: ORDER,
        when_complete: WhenComplete::HandOver,
        needs_order_data: false,
        body: PAYMENT_ISSUE_EN,
    },
];

/// A template's body between what every template of its language opens and closes with: the
/// greeting (with the customer's name when known) and the signature (else the shop's name).
macro_rules! template {
    (fr, $body:literal) => {
        concat!(
            "Bonjour{{ \" \" ~ customer_name if customer_name else \"\" }},\n\n",
            $body,
            "\nBien cordialement,\n{{ signature if signature else shop_name }}\n"
        )
    };
    (en, $body:literal) => {
        concat!(
            "Hello{{ \" \" ~ customer_name if customer_name else \"\" }},\n\n",
            $body,
            "\nKind regards,\n{{ signature if signature else shop_name }}\n"
        )
    };
}

const ORDER_STATUS_FR: &str = template!(
    fr,
    r#"Merci pour votre message.
{% if order %}

Voici où en est votre commande {{ order.reference }}{{ " du " ~ order.date if order.date else "" }} : {{ order.status_label }}.
{% if order.items %}
Elle contient :
{% for item in order.items %}
- {{ item.quantity }} × {{ item.name }}
{% endfor %}
{% endif %}
{% if order.tracking_number %}

Elle a été confiée à {{ order.carrier if order.carrier else "notre transporteur" }} avec le numéro de suivi {{ order.tracking_number }}.
{% if order.tracking_url %}
Vous pouvez suivre sa livraison à tout moment ici : {{ order.tracking_url }}
{% endif %}
{% endif %}
{% if order.status == "delivered" %}

Le transporteur l'indique comme livrée. Si vous ne l'avez pas reçue, pensez à regarder dans votre boîte aux lettres, auprès de vos voisins ou de votre gardien, ou au point relais. Si elle reste introuvable, répondez-nous : nous ouvrirons une enquête auprès du transporteur.
{% elif order.status in ["pending", "paid", "processing"] %}

Elle est en cours de préparation : vous recevrez un e-mail avec le numéro de suivi dès son expédition.
{% elif order.tracking_number %}

Le transporteur actualise parfois le suivi avec un peu de retard : pas d'inquiétude si rien ne bouge pendant quelques heures.
{% endif %}

Si quelque chose vous semble anormal, répondez simplement à ce message et nous regarderons cela de près.
{% elif missing %}

Pour retrouver votre commande et vous dire où elle en est, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}
{% endfor %}

Il vous suffit de répondre à ce message.
{% else %}

Nous vérifions où en est votre commande{{ " " ~ order_reference if order_reference else "" }} et revenons vers vous très vite.
{% endif %}
"#
);

const ORDER_STATUS_EN: &str = template!(
    en,
    r#"Thank you for your message.
{% if order %}

Here is where your order {{ order.reference }}{{ ", placed on " ~ order.date ~ "," if order.date else "" }} stands: {{ order.status_label }}.
{% if order.items %}
It contains:
{% for item in order.items %}
- {{ item.quantity }} × {{ item.name }}
{% endfor %}
{% endif %}
{% if order.tracking_number %}

It was handed to {{ order.carrier if order.carrier else "our carrier" }} with tracking number {{ order.tracking_number }}.
{% if order.tracking_url %}
You can follow its delivery at any time here: {{ order.tracking_url }}
{% endif %}
{% endif %}
{% if order.status == "delivered" %}

The carrier shows it as delivered. If it has not reached you, it is worth checking your letterbox, your neighbours, your building's concierge or the pickup point. If it is still nowhere to be found, just reply and we will open an investigation with the carrier.
{% elif order.status in ["pending", "paid", "processing"] %}

It is being prepared: you will receive an email with the tracking number as soon as it ships.
{% elif order.tracking_number %}

Tracking can take up to a day to update with some carriers, so do not worry if nothing moves for a few hours.
{% endif %}

If anything looks wrong, simply reply to this message and we will look into it closely.
{% elif missing %}

So that we can find your order and tell you where it is, could you send us:
{% for need in missing %}
- {{ need.label }}
{% endfor %}

Simply reply to this message.
{% else %}

We are checking on your order{{ " " ~ order_reference if order_reference else "" }} and will get back to you very soon.
{% endif %}
"#
);

const RETURN_EXCHANGE_FR: &str = template!(
    fr,
    r#"Merci pour votre message. Un retour ou un échange se fait simplement :

1. vous nous indiquez le ou les articles concernés, et si vous préférez un échange ou un remboursement ;
2. nous vous envoyons les instructions de retour (l'adresse et, selon le cas, une étiquette) ;
3. vous renvoyez les articles en bon état, si possible dans leur emballage d'origine, dans le délai prévu par nos conditions de retour ;
4. dès leur réception, nous procédons à l'échange ou au remboursement.
{% if missing %}

Pour préparer votre retour, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

Nous avons bien noté votre demande{{ " pour la commande " ~ order_reference if order_reference else "" }} : un membre de notre équipe vous envoie les instructions de retour très prochainement.
{% endif %}
"#
);

const RETURN_EXCHANGE_EN: &str = template!(
    en,
    r#"Thank you for your message. Returning or exchanging an item is simple:

1. you tell us which item or items, and whether you would prefer an exchange or a refund;
2. we send you the return instructions (the address and, where applicable, a label);
3. you send the items back in good condition, in their original packaging if possible, within the period set by our returns policy;
4. as soon as they arrive, we make the exchange or the refund.
{% if missing %}

To prepare your return, could you send us:
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

We have noted your request{{ " for order " ~ order_reference if order_reference else "" }}: a member of our team will send you the return instructions very shortly.
{% endif %}
"#
);

const REFUND_FR: &str = template!(
    fr,
    r#"Merci pour votre message : nous avons bien reçu votre demande de remboursement{{ " pour la commande " ~ order_reference if order_reference else "" }}.
{% if order and order.status == "refunded" %}

D'après nos informations, cette commande a déjà été remboursée. Un membre de notre équipe vérifie tout de même et vous le confirme très vite.
{% elif missing %}

Pour que nous puissions la traiter, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

Un membre de notre équipe l'examine et vous confirme la suite très vite.
{% endif %}

Bon à savoir : une fois validé, un remboursement apparaît en général sur votre compte sous 5 à 10 jours ouvrés, selon votre banque et le moyen de paiement utilisé.
"#
);

const REFUND_EN: &str = template!(
    en,
    r#"Thank you for your message: we have received your refund request{{ " for order " ~ order_reference if order_reference else "" }}.
{% if order and order.status == "refunded" %}

According to our records, this order has already been refunded. A member of our team is double-checking and will confirm it to you very soon.
{% elif missing %}

So that we can process it, could you send us:
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

A member of our team is looking into it and will confirm the next steps very soon.
{% endif %}

Good to know: once approved, a refund usually shows on your account within 5 to 10 working days, depending on your bank and the payment method used.
"#
);

const CANCEL_ORDER_FR: &str = template!(
    fr,
    r#"Merci pour votre message : nous avons bien reçu votre demande d'annulation{{ " de la commande " ~ order_reference if order_reference else "" }}.
{% if missing %}

Pour retrouver votre commande au plus vite, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% endif %}

Notre équipe vérifie si elle a déjà quitté notre entrepôt. Si ce n'est pas le cas, nous l'annulons et vous remboursons ; si elle est déjà en route, nous vous expliquerons comment la retourner simplement.

Nous revenons vers vous très vite pour vous le confirmer.
"#
);

const CANCEL_ORDER_EN: &str = template!(
    en,
    r#"Thank you for your message: we have received your request to cancel{{ " order " ~ order_reference if order_reference else " your order" }}.
{% if missing %}

To find your order as quickly as possible, could you send us:
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% endif %}

Our team is checking whether it has already left our warehouse. If it has not, we will cancel it and refund you; if it is already on its way, we will explain how to return it easily.

We will get back to you very soon to confirm.
"#
);

const CHANGE_ORDER_FR: &str = template!(
    fr,
    r#"Merci pour votre message : nous avons bien reçu votre demande de modification{{ " de la commande " ~ order_reference if order_reference else "" }}.
{% if missing %}

Pour que nous puissions la traiter, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}{{ ", s'il s'agit de changer l'adresse de livraison" if need.id == "new_address" else "" }}
{% endfor %}
{% endif %}

Une commande peut en général être modifiée tant qu'elle n'a pas été expédiée. Notre équipe vérifie où en est la vôtre et vous confirme la modification très vite.
"#
);

const CHANGE_ORDER_EN: &str = template!(
    en,
    r#"Thank you for your message: we have received your request to change{{ " order " ~ order_reference if order_reference else " your order" }}.
{% if missing %}

So that we can handle it, could you send us:
{% for need in missing %}
- {{ need.label }}{{ ", if it is the delivery address you would like to change" if need.id == "new_address" else "" }}
{% endfor %}
{% endif %}

An order can usually be changed as long as it has not shipped. Our team is checking where yours stands and will confirm the change very soon.
"#
);

const DAMAGED_FR: &str = template!(
    fr,
    r#"Nous sommes vraiment désolés que votre commande{{ " " ~ order_reference if order_reference else "" }} ne soit pas arrivée comme elle le devait. Nous allons arranger cela.
{% if missing %}

Pour trouver la meilleure solution au plus vite, pourriez-vous nous envoyer, en réponse à ce message :
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

Merci pour ces informations : votre dossier est complet. Un membre de notre équipe le prend en charge et revient vers vous très vite avec une solution.
{% endif %}

En attendant, merci de conserver l'article et son emballage : nous vous dirons s'il faut nous le renvoyer.
"#
);

const DAMAGED_EN: &str = template!(
    en,
    r#"We are truly sorry that your order{{ " " ~ order_reference if order_reference else "" }} did not arrive as it should have. We will put this right.
{% if missing %}

To find the best solution quickly, could you reply to this message with:
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

Thank you for these details: your case is complete. A member of our team is taking it over and will come back to you very soon with a solution.
{% endif %}

In the meantime, please keep the item and its packaging: we will let you know whether it needs to be sent back.
"#
);

const INVOICE_FR: &str = template!(
    fr,
    r#"Merci pour votre message.
{% if missing %}

Pour vous envoyer la bonne facture, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

Nous préparons la facture de votre commande{{ " " ~ order_reference if order_reference else "" }} et vous l'envoyons très vite par e-mail.
{% endif %}

Si elle doit être établie au nom d'une société, précisez-nous sa raison sociale et son adresse de facturation.
"#
);

const INVOICE_EN: &str = template!(
    en,
    r#"Thank you for your message.
{% if missing %}

So that we send you the right invoice, could you send us:
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

We are preparing the invoice for your order{{ " " ~ order_reference if order_reference else "" }} and will email it to you very soon.
{% endif %}

If it should be made out to a company, please tell us the company name and billing address.
"#
);

const ACCOUNT_FR: &str = template!(
    fr,
    r#"Merci pour votre message.

Si vous n'arrivez plus à vous connecter, le plus simple est de choisir un nouveau mot de passe :

1. sur notre site, ouvrez la page de connexion à votre compte ;
2. cliquez sur « Mot de passe oublié ? » et saisissez l'adresse e-mail de votre compte ;
3. ouvrez l'e-mail que vous recevez (pensez à regarder dans les courriers indésirables) et suivez le lien pour choisir votre nouveau mot de passe.

Ce lien n'est valable que peu de temps : s'il a expiré, refaites simplement une demande.

Si votre question porte sur autre chose (changer d'adresse e-mail, supprimer votre compte…) ou si le problème persiste, répondez à ce message : un membre de notre équipe s'en occupera.
"#
);

const ACCOUNT_EN: &str = template!(
    en,
    r#"Thank you for your message.

If you can no longer sign in, the quickest fix is to choose a new password:

1. on our website, open the sign-in page of your account;
2. click "Forgot your password?" and enter the email address of your account;
3. open the email you receive (do check your spam folder) and follow the link to choose your new password.

The link is only valid for a short time: if it has expired, simply ask for a new one.

If your question is about something else (changing your email address, closing your account…) or if the problem persists, reply to this message and a member of our team will take care of it.
"#
);

const PAYMENT_ISSUE_FR: &str = template!(
    fr,
    r#"Merci pour votre message ; nous sommes désolés pour ce souci de paiement.

Rassurez-vous : un paiement qui échoue n'est pas encaissé. Votre banque peut afficher un moment une autorisation temporaire ; elle disparaît d'elle-même sous quelques jours.
{% if missing %}

Pour que nous puissions vérifier, pourriez-vous nous indiquer :
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

Un membre de notre équipe vérifie le paiement de votre commande{{ " " ~ order_reference if order_reference else "" }} et revient vers vous très vite.
{% endif %}

Par sécurité, ne nous envoyez jamais votre numéro de carte complet ni son code par e-mail.
"#
);

const PAYMENT_ISSUE_EN: &str = template!(
    en,
    r#"Thank you for your message, and sorry for the trouble with your payment.

Rest assured: a payment that fails is not taken. Your bank may show a temporary authorisation for a while; it disappears by itself within a few days.
{% if missing %}

So that we can check, could you send us:
{% for need in missing %}
- {{ need.label }}
{% endfor %}
{% else %}

A member of our team is checking the payment for your order{{ " " ~ order_reference if order_reference else "" }} and will get back to you very soon.
{% endif %}

For your security, never send us your full card number or its security code by email.
"#
);
