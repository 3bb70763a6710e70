//! Shops and their contacts.

use crate::store::{Contact, NewContact, Shop};

use super::{Desk, DeskError, DeskResult};

/// A contact to add to a shop.
#[derive(Debug, Clone)]
pub struct ContactInput {
    pub name: String,
    pub email: String,
    pub description: String,
    /// Messages to it are customer-service tickets.
    pub customer_service: bool,
}

/// Something that must look like an email address and does not.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0} is not an email address")]
pub struct NotAnAddress(pub String);

/// The address lowercased and trimmed, when it has the shape of one.
pub fn email_address(text: &str) -> Result<String, NotAnAddress> {
    let address = text.trim().to_lowercase();
    match address.split_once('@') {
        Some((local, domain)) if !local.is_empty() && !domain.is_empty() => Ok(address),
        _ => Err(NotAnAddress(text.to_string())),
    }
}

impl Desk {
    pub async fn add_shop(&self, name: &str) -> DeskResult<Shop> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DeskError::ShopNeedsName);
        }
        Ok(self.store.add_shop(name).await?)
    }

    pub async fn shops(&self) -> DeskResult<Vec<Shop>> {
        Ok(self.store.shops().await?)
    }

    pub async fn add_contact(&self, shop: &Shop, input: ContactInput) -> DeskResult<Contact> {
        let email = email_address(&input.email)?;
        let contact = NewContact {
            name: input.name,
            email,
            description: input.description,
            customer_service: input.customer_service,
        };
        Ok(self.store.add_contact(shop.id, &contact).await?)
    }

    /// Changes a contact of the shop (by id): its name, address, description and filing.
    pub async fn change_contact(
        &self,
        shop: &Shop,
        contact_id: i64,
        input: ContactInput,
    ) -> DeskResult<()> {
        let email = email_address(&input.email)?;
        let contact = NewContact {
            name: input.name,
            email,
            description: input.description,
            customer_service: input.customer_service,
        };
        self.store
            .update_contact(shop.id, contact_id, &contact)
            .await
            .map_err(|e| super::not_found(e, DeskError::NoContactNamed(format!("#{contact_id}"))))
    }

    /// Removes a contact of the shop; its tickets stay.
    pub async fn remove_contact(&self, shop: &Shop, contact_id: i64) -> DeskResult<()> {
        self.store
            .remove_contact(shop.id, contact_id)
            .await
            .map_err(|e| super::not_found(e, DeskError::NoContactNamed(format!("#{contact_id}"))))
    }

    pub async fn contacts(&self, shop: &Shop) -> DeskResult<Vec<Contact>> {
        Ok(self.store.contacts(shop.id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_and_lowercased() {
        assert_eq!(
            email_address(" SAV@Boutique.fr ").unwrap(),
            "sav@boutique.fr"
        );
        for bad in ["sav", "@boutique.fr", "sav@", ""] {
            assert!(email_address(bad).is_err(), "{bad}");
        }
    }
}
